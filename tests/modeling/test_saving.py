"""DualEncoder.save_pretrained is atomic: a crash leaves nothing half-written, foreign entries survive."""

from __future__ import annotations

import pytest
from modeling_support import perturb

from hf_hybrid.checkpoint import PASSAGE_SUBFOLDER
from hf_hybrid.modeling import DualEncoder
from hf_hybrid.modeling import saving

_perturb = perturb


def _crash(*args, **kwargs):
    raise RuntimeError("simulated crash while writing")


def test_crash_during_save_leaves_nothing_behind(e5, tmp_path, monkeypatch):
    monkeypatch.setattr(saving, "write_configs", _crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        e5.save_pretrained(tmp_path / "ckpt")
    assert list(tmp_path.iterdir()) == []  # no target, no temp dir


def test_crash_during_overwrite_keeps_previous_checkpoint(e5, tmp_path, monkeypatch):
    out = e5.save_pretrained(tmp_path / "ckpt")
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    _perturb(e5)
    monkeypatch.setattr(saving, "write_configs", _crash)
    with pytest.raises(RuntimeError):
        e5.save_pretrained(out)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_save_into_nonempty_dir_keeps_foreign_entries(tiny_dir, tmp_path):
    two = DualEncoder.from_pretrained(tiny_dir, separate_towers=True)
    out = two.save_pretrained(tmp_path / "run")
    (out / "checkpoint-5").mkdir()
    (out / "checkpoint-5" / "trainer_state.json").write_text("{}")
    (out / "training_args.bin").write_bytes(b"x")
    one = DualEncoder.from_pretrained(tiny_dir, pooling="cls")
    one.save_pretrained(out, model_card="# card\n", extra_files={"configs/train.yaml": "lr: 1\n"})
    names = {p.name for p in out.iterdir()}
    assert {"checkpoint-5", "training_args.bin", "README.md", "configs"} <= names
    assert PASSAGE_SUBFOLDER not in names and "router_config.json" not in names  # stale entries removed
    assert (out / "README.md").read_text() == "# card\n"
    back = DualEncoder.from_pretrained(out)
    assert back.shared_towers and back.settings.pooling == "cls"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_extra_files_travel_in_the_same_save(e5, tmp_path):
    out = e5.save_pretrained(tmp_path / "m", extra_files={"hf_hybrid_training.json": '{"a": 1}', "bin/x.dat": b"\x00\x01"})
    assert (out / "hf_hybrid_training.json").read_text() == '{"a": 1}'
    assert (out / "bin" / "x.dat").read_bytes() == b"\x00\x01"
