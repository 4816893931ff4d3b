"""Repo ids and the one "local path or Hub id" resolver (against the local Hub of tests/hub_server.py)."""

from __future__ import annotations

import pytest

from hf_hybrid.checkpoint import (
    InvalidRepoIdError,
    ModelLoadError,
    is_hub_id,
    resolve_checkpoint,
    resolve_model_dir,
    validate_repo_id,
)


def test_validate_repo_id():
    assert validate_repo_id("my-org/xlmr-hybrid") == "my-org/xlmr-hybrid"
    for bad in ("noslash", "a/b/c", "org/na me", "org/-x", "org/a--b", "/x", "org/", None):
        with pytest.raises(InvalidRepoIdError, match="Invalid repo id"):
            validate_repo_id(bad)
    assert issubclass(InvalidRepoIdError, ValueError)


def test_is_hub_id(tmp_path):
    for name in ("bert-base-uncased", "intfloat/multilingual-e5-small", "org/model.v2"):
        assert is_hub_id(name), name
    for name in ("", None, "./model", "/abs/model", "~/model", "a\\b", "a/b/c", "tiny (random init)", "org/a--b",
                 "-abc", str(tmp_path)):
        assert not is_hub_id(name), name


def test_local_paths(tmp_path):
    assert resolve_model_dir(tmp_path) == tmp_path
    assert resolve_model_dir(str(tmp_path)) == tmp_path
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="it is a file, expected a model directory"):
        resolve_model_dir(tmp_path / "weights.bin")
    for name in ("./definitely/not/here", str(tmp_path / "missing"), "a/b/c", "not a model"):
        with pytest.raises(ModelLoadError, match="no such directory \\(and not a valid Hub model id\\)"):
            resolve_model_dir(name)


def test_offline_miss_says_so(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelLoadError, match="not a local directory and the Hub is unreachable"):
        resolve_model_dir("hf-hybrid-tests/no-such-model-3f9a")


def _upload(folder, repo_id):
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(repo_id)
    api.upload_folder(folder_path=str(folder), repo_id=repo_id)


def test_hub_snapshot_without_exports(hub_server, tmp_path):
    src = tmp_path / "src"
    (src / "onnx").mkdir(parents=True)
    (src / "config.json").write_text("{}")
    (src / "model.safetensors").write_bytes(b"weights")
    (src / "pytorch_model.bin").write_bytes(b"old weights")
    (src / "onnx" / "model.onnx").write_bytes(b"onnx")
    _upload(src, "org/tiny")
    local = resolve_model_dir("org/tiny")
    assert {p.name for p in local.iterdir()} == {"config.json", "model.safetensors"}  # no ONNX, no duplicate .bin
    info = resolve_checkpoint("org/tiny")
    assert (info.weights, info.repo_id, info.path) == ("full", "org/tiny", local)


def test_hub_repo_with_bin_weights_only(hub_server, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "adapter_config.json").write_text('{"base_model_name_or_path": "org/base"}')
    (src / "adapter_model.bin").write_bytes(b"weights")
    _upload(src, "org/old-adapter")
    info = resolve_checkpoint("org/old-adapter")
    assert (info.weights, info.base_model, info.repo_id) == ("adapter", "org/base", "org/old-adapter")
    assert (info.path / "adapter_model.bin").read_bytes() == b"weights"


def test_unknown_hub_repo(hub_server):
    with pytest.raises(ModelLoadError, match="'org/does-not-exist': not a local directory, and not found on the Hub"):
        resolve_model_dir("org/does-not-exist")
    with pytest.raises(ModelLoadError, match="not found on the Hub"):
        resolve_checkpoint("org/does-not-exist")
