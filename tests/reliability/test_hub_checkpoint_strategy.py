"""Issue 16: ``--hub_strategy checkpoint`` uploads no resume states and no other model unless asked.

The optimizer / scheduler / scaler / RNG / trainer and sampler states only resume a run; the untrained initial
model that a ``tiny`` run writes into ``output_dir/tiny-encoder-init/`` (and any other model folder that is not
part of the checkpoint, e.g. ``merged/``) is not the trained model. Against the local Hub of tests/hub_server.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from hub_fixtures import TEXTS, full_ckpt, hub_server, tiny_dir  # noqa: F401 - fixtures
from tiny import make_tiny_encoder

from hf_hybrid.hub import push
from hf_hybrid.training.hub_push import trainer_push

RESUME = ["optimizer.pt", "scheduler.pt", "scaler.pt", "rng_state.pth", "rng_state_1.pth", "trainer_state.json",
          "sampler_state.json"]


@pytest.fixture
def run_dir(tmp_path, full_ckpt) -> Path:
    """An output_dir as training leaves it: the final model, checkpoint-2 with resume states, other models."""
    run = tmp_path / "run"
    shutil.copytree(full_ckpt, run)
    ckpt = run / "checkpoint-2"
    shutil.copytree(full_ckpt, ckpt)
    for name in RESUME + ["training_args.bin"]:
        (ckpt / name).write_bytes(b"resume state " + name.encode())
    make_tiny_encoder(run / "tiny-encoder-init", TEXTS)  # what a --model_name_or_path tiny run starts from
    shutil.copytree(full_ckpt, run / "merged")  # a LoRA run's merged export
    (run / "notes").mkdir()
    (run / "notes" / "howto.txt").write_text("not a model: published\n")
    return run


def _trainer(run: Path, strategy: str, **args) -> SimpleNamespace:
    args = SimpleNamespace(output_dir=str(run), hub_strategy=strategy, hub_token=None, hub_revision=None,
                           hub_model_id="org/ckpt", hub_private_repo=False, **args)
    return SimpleNamespace(args=args, is_world_process_zero=lambda: True, state=SimpleNamespace(global_step=2),
                           last_eval_result=None, hub_model_id="org/ckpt")


def _resume_files(files) -> list[str]:
    return [f for f in files if Path(f).name in RESUME or Path(f).name == "training_args.bin"]


def test_hub_checkpoint_strategy_uploads_no_resume_state(hub_server, run_dir):
    trainer_push(_trainer(run_dir, "checkpoint"), run_dir / "checkpoint-2")
    files = hub_server.files("org/ckpt")
    assert {"model.safetensors", "last-checkpoint/model.safetensors", "last-checkpoint/modules.json"} <= set(files)
    assert _resume_files(files) == []


def test_hub_all_checkpoints_uploads_no_resume_state(hub_server, run_dir):
    trainer_push(_trainer(run_dir, "all_checkpoints"), run_dir / "checkpoint-2")
    files = hub_server.files("org/ckpt")
    assert "checkpoint-2/model.safetensors" in files and _resume_files(files) == []


def test_hub_resume_state_on_request(hub_server, run_dir):
    trainer_push(_trainer(run_dir, "checkpoint"), run_dir / "checkpoint-2", include_resume_state=True)
    files = hub_server.files("org/ckpt")
    assert {f"last-checkpoint/{name}" for name in RESUME} <= set(files)
    assert all(f.startswith("last-checkpoint/") for f in _resume_files(files))  # only there, not at the root
    assert not any(Path(f).name == "training_args.bin" for f in files)


def test_hub_resume_state_on_request_from_training_arguments(hub_server, run_dir):
    trainer_push(_trainer(run_dir, "checkpoint", hub_include_resume_state=True), run_dir / "checkpoint-2")
    assert "last-checkpoint/optimizer.pt" in hub_server.files("org/ckpt")


def test_hub_end_of_training_push_skips_other_models(hub_server, run_dir):
    trainer_push(_trainer(run_dir, "checkpoint"), None)
    files = hub_server.files("org/ckpt")
    assert "model.safetensors" in files and "notes/howto.txt" in files
    assert not [f for f in files if f.startswith(("tiny-encoder-init/", "merged/", "checkpoint-2/"))]


def test_hub_push_command_skips_other_models(hub_server, run_dir):
    push(run_dir, "org/cli")
    files = hub_server.files("org/cli")
    assert "model.safetensors" in files and "notes/howto.txt" in files
    assert not [f for f in files if f.startswith(("tiny-encoder-init/", "merged/", "checkpoint-2/"))]
    push(run_dir / "tiny-encoder-init", "org/init")  # asked for: a model folder is published when pushed itself
    assert "model.safetensors" in hub_server.files("org/init")
