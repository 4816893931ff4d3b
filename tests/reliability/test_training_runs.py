"""Issue 16, train.py: never mix runs, resume only into the same batches, fail fast and clearly.

Each test runs the real pipeline (``hf_hybrid.commands.train.main``) on the tiny random-init encoder, or the
real ``train.py`` in a subprocess where the exit status and what the user sees are the point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hf_hybrid.commands.train import main

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--tiny_hidden_size", "32", "--tiny_vocab_size", "800", "--languages", "en", "de", "zh",
        "--test_articles", "3", "--query_max_length", "24", "--passage_max_length", "32",
        "--per_device_train_batch_size", "8", "--logging_steps", "50", "--report_to", "none",
        "--use_cpu", "--disable_tqdm", "true", "--eval_before_training", "false"]


def _run(out: Path, *flags: str) -> dict:
    return main([*TINY, "--output_dir", str(out), *flags])


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A 4-step run with checkpoints at steps 2 and 4."""
    out = tmp_path_factory.mktemp("runs") / "run"
    _run(out, "--max_steps", "4", "--save_strategy", "steps", "--save_steps", "2")
    assert (out / "checkpoint-2").is_dir() and (out / "checkpoint-4").is_dir()
    return out


def _train_py(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600)


def test_rerun_into_a_used_output_dir_is_refused_unless_overwrite(finished_run, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        _run(finished_run, "--max_steps", "2", "--save_strategy", "no")
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"output_dir {finished_run} already holds a training run (checkpoint-2, checkpoint-4, " in err
    assert "--resume_from_checkpoint" in err and "--overwrite_output_dir" in err
    assert (finished_run / "checkpoint-4").is_dir()  # nothing was touched
    # --overwrite_output_dir starts over: the old checkpoints cannot be resumed or mixed in any more
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(finished_run), str(copy)], check=True)
    _run(copy, "--max_steps", "2", "--save_strategy", "no", "--overwrite_output_dir")
    assert not list(copy.glob("checkpoint-*"))
    assert json.loads((copy / "hf_hybrid_training.json").read_text())["training"]["global_step"] == 2


def test_resume_with_another_batch_size_is_refused_unless_asked(finished_run, tmp_path, capsys):
    ckpt = finished_run / "checkpoint-2"
    out = tmp_path / "resumed"
    with pytest.raises(SystemExit):
        _run(out, "--max_steps", "4", "--resume_from_checkpoint", str(ckpt), "--per_device_train_batch_size", "4",
             "--save_strategy", "no")
    err = capsys.readouterr().err
    assert "resuming with a different batch layout than the checkpoint (batch_size 8 -> 4)" in err
    assert "--resume_with_different_batches" in err
    results = _run(out, "--max_steps", "4", "--resume_from_checkpoint", str(ckpt), "--per_device_train_batch_size",
                   "4", "--save_strategy", "no", "--resume_with_different_batches")
    assert results["after"]["after_pool_map"] > 0


def test_resume_from_a_missing_or_damaged_checkpoint_names_the_file(finished_run, tmp_path, capsys):
    with pytest.raises(SystemExit):
        _run(tmp_path / "a", "--max_steps", "4", "--resume_from_checkpoint", str(tmp_path / "nope"))
    assert f"--resume_from_checkpoint {tmp_path / 'nope'}: no such checkpoint folder" in capsys.readouterr().err
    for name, damage in (("model.safetensors", "truncate"), ("optimizer.pt", "truncate"),
                         ("trainer_state.json", "garble"), ("sampler_state.json", "delete")):
        broken = tmp_path / f"broken-{name}"
        subprocess.run(["cp", "-r", str(finished_run / "checkpoint-2"), str(broken)], check=True)
        target = broken / name
        if damage == "truncate":
            target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
        elif damage == "garble":
            target.write_text("{not json")
        else:
            target.unlink()
        with pytest.raises(SystemExit):
            _run(tmp_path / f"out-{name}", "--max_steps", "4", "--resume_from_checkpoint", str(broken))
        err = capsys.readouterr().err
        assert f"cannot resume" in err and name in err, (name, err)
        assert "Traceback" not in err


def test_resuming_a_finished_run_does_nothing_and_says_so(finished_run, capsys):
    before = sorted(p.name for p in finished_run.iterdir())
    results = _run(finished_run, "--max_steps", "4", "--resume_from_checkpoint", str(finished_run / "checkpoint-4"))
    assert results["finished"] is True
    assert "nothing to do: " in capsys.readouterr().out
    assert sorted(p.name for p in finished_run.iterdir()) == before


@pytest.mark.parametrize("max_steps", ["0", "-5"])
def test_max_steps_of_zero_or_below_is_an_error(max_steps, tmp_path):
    with pytest.raises(SystemExit, match=rf"max_steps={max_steps} must be > 0 \(or -1"):
        _run(tmp_path / "x", "--max_steps", max_steps)


def test_a_batch_the_data_cannot_fill_fails_before_the_model_is_built(tmp_path, monkeypatch, capsys):
    import hf_hybrid.training.pipeline as pipeline

    def no_model(*args, **kwargs):
        raise AssertionError("the model was built before the sampler settings were checked")

    monkeypatch.setattr(pipeline, "build_model", no_model)
    with pytest.raises(SystemExit):
        _run(tmp_path / "x", "--max_steps", "2", "--per_device_train_batch_size", "4000")
    err = capsys.readouterr().err
    assert "HybridBatchSampler:" in err and "Lower batch_size" in err


def test_errors_are_one_line_without_traceback_and_debug_shows_it(tmp_path):
    proc = _train_py("--train_data", str(tmp_path / "missing.jsonl"), "--output_dir", str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {tmp_path / 'missing.jsonl'}: no such file.")
    assert "Traceback" not in proc.stderr
    debug = _train_py("--train_data", str(tmp_path / "missing.jsonl"), "--output_dir", str(tmp_path / "o"), "--debug",
                      cwd=tmp_path)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_a_yaml_type_error_names_the_file_and_key(tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("output_dir: o\nlearning_rate: fast\n")
    proc = _train_py(str(cfg), cwd=tmp_path)
    assert proc.returncode != 0
    assert f"error: {cfg}: key 'learning_rate': expected a number, got 'fast' (str)." in proc.stderr
    assert "usage:" not in proc.stderr


def test_saved_files_hold_no_token_and_eval_results_no_local_paths(tmp_path, monkeypatch):
    import torch

    out = tmp_path / "run"
    token = "hf_" + "x" * 34
    _run(out, "--max_steps", "2", "--save_strategy", "no", "--hub_token", token)
    args = torch.load(out / "training_args.bin", weights_only=False)
    assert args.hub_token is None and token.encode() not in (out / "training_args.bin").read_bytes()
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".md", ".txt"):
            assert token not in path.read_text(encoding="utf-8", errors="replace"), path
    assert str(tmp_path) not in (out / "eval_results.json").read_text()


def test_conflicting_precision_flags_fail_at_parse_time(tmp_path):
    with pytest.raises(SystemExit, match="fp16 and bf16 are both set: choose one mixed-precision mode"):
        _run(tmp_path / "x", "--max_steps", "2", "--fp16", "--bf16")
