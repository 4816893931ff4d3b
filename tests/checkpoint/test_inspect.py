"""inspect_checkpoint: full model or PEFT adapter, its base model, and clear refusals of anything else."""

from __future__ import annotations

import json

import pytest

from hf_hybrid.checkpoint import CheckpointInfo, NotACheckpointError, inspect_checkpoint, resolve_checkpoint


def _touch(folder, *names, content="{}"):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text(content)
    return folder


def test_full_checkpoint_and_recorded_base_model(tmp_path):
    folder = _touch(tmp_path / "full", "config.json", "model.safetensors", "modules.json")
    info = inspect_checkpoint(folder)
    assert info == CheckpointInfo(folder, "full", None, True) and not info.is_adapter
    # the training record (sections, "model" being a dict) names the base model
    (folder / "hf_hybrid_training.json").write_text(json.dumps({"base_model": "org/base", "model": {"pooling": "cls"}}))
    assert inspect_checkpoint(folder).base_model == "org/base"
    # an older flat training config too
    (folder / "hf_hybrid_training.json").write_text(json.dumps({"model_name_or_path": "org/older"}))
    assert inspect_checkpoint(folder).base_model == "org/older"
    sharded = _touch(tmp_path / "sharded", "config.json", "model.safetensors.index.json")
    assert inspect_checkpoint(sharded).weights == "full"


def test_adapter_checkpoint(tmp_path):
    folder = _touch(tmp_path / "adapter", "adapter_model.safetensors")
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "org/base"}))
    info = inspect_checkpoint(folder)
    assert (info.weights, info.base_model, info.sentence_transformers, info.is_adapter) == ("adapter", "org/base", False, True)
    (folder / "adapter_config.json").write_text("{}")
    (folder / "hf_hybrid_training.json").write_text(json.dumps({"base_model": "org/from-record"}))
    assert inspect_checkpoint(folder).base_model == "org/from-record"


@pytest.mark.parametrize("names,match", [
    ((), "is not a checkpoint: expected config.json .*; found nothing"),
    (("notes.txt",), "is not a checkpoint: expected .*adapter_model.safetensors \\(LoRA adapter\\); found notes.txt"),
    (("config.json",), "has config.json but no weights \\(model.safetensors, pytorch_model.bin"),
    (("config.json", "adapter_config.json"), "has adapter_config.json but no adapter weights"),
])
def test_incomplete_folders_are_not_checkpoints(tmp_path, names, match):
    with pytest.raises(NotACheckpointError, match=match):
        inspect_checkpoint(_touch(tmp_path / "ckpt", *names))


def test_wrong_paths_are_not_checkpoints(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    staging = _touch(tmp_path / ".staging-checkpoint-5", "config.json", "model.safetensors")
    for path, match in ((tmp_path / "missing", "does not exist"), (tmp_path / "notes.txt", "is a file, not a checkpoint"),
                        (staging, "unfinished staging folder of an interrupted save")):
        with pytest.raises(NotACheckpointError, match=match):
            inspect_checkpoint(path)


def test_damaged_json_is_not_a_checkpoint(tmp_path):
    folder = _touch(tmp_path / "a", "adapter_model.safetensors")
    (folder / "adapter_config.json").write_text("[1, 2]")
    with pytest.raises(NotACheckpointError, match="adapter_config.json must hold a JSON object, found list"):
        inspect_checkpoint(folder)
    (folder / "adapter_config.json").write_text("{")
    with pytest.raises(NotACheckpointError, match="adapter_config.json is not valid JSON"):
        inspect_checkpoint(folder)


def test_resolve_checkpoint_of_a_local_path(tmp_path):
    folder = _touch(tmp_path / "full", "config.json", "model.safetensors")
    assert resolve_checkpoint(folder) == inspect_checkpoint(folder)
    assert resolve_checkpoint(str(folder)).repo_id is None
    with pytest.raises(NotACheckpointError, match="is a file"):
        resolve_checkpoint(folder / "config.json")
