"""Atomic writes: a file or a whole directory is either the old one or the complete new one."""

from __future__ import annotations

import json
import os

import pytest

from hf_hybrid.checkpoint import atomic_write_bytes, atomic_write_dir, atomic_write_json
from hf_hybrid.checkpoint.layout import MARKER_ENTRIES
from hf_hybrid.checkpoint import atomic as atomic_mod


def test_atomic_write_markers_come_last(tmp_path, monkeypatch):
    """While files are moved into an existing directory, no marker file (config.json...) is present."""
    target = tmp_path / "m"
    target.mkdir()
    (target / "config.json").write_text("old")
    (target / "model.safetensors").write_text("old")
    (target / "keep.txt").write_text("mine")
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        real_replace(src, dst)
        if str(dst).startswith(str(target)) and os.path.dirname(str(dst)) == str(target):
            seen.append((os.path.basename(str(dst)), (target / "config.json").exists()))

    monkeypatch.setattr(atomic_mod.os, "replace", spy)

    def write(tmp):
        (tmp / "config.json").write_text("new")
        (tmp / "model.safetensors").write_text("new")

    atomic_write_dir(target, write)
    assert seen == [("model.safetensors", False), ("config.json", True)]
    assert (target / "config.json").read_text() == "new" and (target / "keep.txt").read_text() == "mine"


def test_atomic_write_dir_into_a_missing_or_empty_target_is_one_rename(tmp_path):
    for target in (tmp_path / "new", tmp_path / "empty"):
        if target.name == "empty":
            target.mkdir()
        out = atomic_write_dir(target, lambda tmp: (tmp / "a.txt").write_text("a"))
        assert out == target and (target / "a.txt").read_text() == "a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "new"]  # no temporary left


def test_atomic_write_dir_removes_stale_managed_entries_only(tmp_path):
    target = tmp_path / "m"
    target.mkdir()
    for name in ("model-00001-of-00002.safetensors", "router_config.json", "notes.txt"):
        (target / name).write_text("old")
    (target / "passage_encoder").mkdir()
    atomic_write_dir(target, lambda tmp: (tmp / "model.safetensors").write_text("new"))
    assert sorted(p.name for p in target.iterdir()) == ["model.safetensors", "notes.txt"]


def test_atomic_write_dir_failures_publish_nothing(tmp_path):
    def boom(tmp):
        (tmp / "config.json").write_text("half")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        atomic_write_dir(tmp_path / "m", boom)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="it exists and is not a directory"):
        atomic_write_dir(tmp_path / "file", lambda tmp: (tmp / "a").write_text("a"))
    assert (tmp_path / "file").read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_marker_entries_are_what_loaders_look_for():
    assert set(MARKER_ENTRIES) == {"modules.json", "config_sentence_transformers.json", "config.json",
                                   "adapter_config.json", "hf_hybrid_config.json"}


def test_atomic_file_writes(tmp_path):
    path = atomic_write_bytes(tmp_path / "sub" / "f.bin", b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    atomic_write_json(tmp_path / "sub" / "f.json", {"path": tmp_path, "n": 1})
    assert json.loads((tmp_path / "sub" / "f.json").read_text()) == {"path": str(tmp_path), "n": 1}
    atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new"
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["f.bin", "f.json"]  # no temporaries
