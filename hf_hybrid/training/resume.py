"""Safe starts and resumes: never mix two runs in one folder, never resume into different batches.

Why: a training folder holds checkpoints that ``get_last_checkpoint`` picks up, and a final model that a
new run overwrites. Re-running into a used folder silently mixes two runs; resuming with another batch
size or number of processes silently draws other batches than the interrupted run would have
(``docs/design.md`` section 2: batches are a function of seed, epoch, step and the global batch layout).
These checks run before any model is loaded, and fail with a message that says what to do.
"""

from __future__ import annotations

import logging
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..checkpoint import HF_HYBRID_CONFIG_NAME, SAMPLER_STATE_NAME, read_json

logger = logging.getLogger(__name__)

TRAINER_STATE_NAME = "trainer_state.json"
#: What a folder from an earlier run holds (besides the tiny encoder a ``tiny`` run starts from).
RUN_OUTPUTS = ("checkpoint-*", "eval_results.json", HF_HYBRID_CONFIG_NAME, "config.json",
               "adapter_config.json", "model.safetensors", "adapter_model.safetensors")
#: Sampler settings that decide which batches come next; a resume must keep them.
BATCH_LAYOUT_KEYS = ("batch_size", "num_replicas", "seed", "strategy", "languages_per_group", "language_negatives",
                     "language_negatives_from")


class ResumeError(ValueError):
    """A start or resume that would mix runs or change the batches; the message says what to do."""


def previous_run_outputs(output_dir: str | Path) -> list[str]:
    """Names of the entries of ``output_dir`` that an earlier run left there (sorted)."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return []
    return sorted({p.name for pattern in RUN_OUTPUTS for p in folder.glob(pattern)})


def check_fresh_output_dir(output_dir: str | Path, overwrite: bool) -> None:
    """Refuse to start a new run in a folder that holds an earlier run, unless ``overwrite``.

    With ``overwrite`` the earlier run's checkpoints are deleted (its final model is replaced by the new
    one when it is saved), so the new run can never resume from, or be mixed with, the old one.
    """
    for leftover in Path(output_dir).glob(".staging-checkpoint-*"):  # a save a crash interrupted: never a checkpoint
        logger.warning("deleting %s, left by an interrupted checkpoint save", leftover)
        shutil.rmtree(leftover, ignore_errors=True)
    found = previous_run_outputs(output_dir)
    if not found:
        return
    if not overwrite:
        shown = ", ".join(found[:6]) + (", ..." if len(found) > 6 else "")
        raise ResumeError(
            f"output_dir {output_dir} already holds a training run ({shown}). Resume it with "
            "--resume_from_checkpoint <output_dir>/checkpoint-N, start over with --overwrite_output_dir (deletes "
            "its checkpoints), or choose another --output_dir.")
    for path in Path(output_dir).glob("checkpoint-*"):
        logger.warning("--overwrite_output_dir: deleting %s of the earlier run", path)
        shutil.rmtree(path, ignore_errors=True)


@dataclass
class CheckpointState:
    """What a training checkpoint says about where its run stands."""

    path: Path
    global_step: int
    epoch: float
    sampler: dict[str, Any]


def _broken(path: Path, what: str) -> ResumeError:
    return ResumeError(f"cannot resume from {path.parent}: {path.name} {what}; the checkpoint is damaged. Resume from "
                       "an earlier checkpoint-N of the run, or start over.")


def inspect_training_checkpoint(checkpoint: str | Path) -> CheckpointState:
    """Check that ``checkpoint`` is a complete training checkpoint; name the missing or broken file if not."""
    path = Path(checkpoint)
    if not path.is_dir():
        raise ResumeError(f"--resume_from_checkpoint {path}: no such checkpoint folder (expected "
                          "<output_dir>/checkpoint-N, written by an earlier run).")
    weights = [path / name for name in ("model.safetensors", "adapter_model.safetensors") if (path / name).is_file()]
    if not weights:
        raise ResumeError(f"cannot resume from {path}: no model.safetensors or adapter_model.safetensors in it; the "
                          "checkpoint is incomplete. Resume from an earlier checkpoint-N of the run, or start over.")
    for file in weights:
        _check_safetensors(file)
    for name in ("optimizer.pt", "scheduler.pt"):
        file = path / name
        if not file.is_file():
            raise _broken(file, "is missing")
        if not zipfile.is_zipfile(file):
            raise _broken(file, "is truncated or not a torch file")
    for name in (TRAINER_STATE_NAME, SAMPLER_STATE_NAME):
        if not (path / name).is_file():
            raise _broken(path / name, "is missing")
    try:
        trainer_state = read_json(path / TRAINER_STATE_NAME, error=ResumeError, what="training checkpoint")
        sampler = read_json(path / SAMPLER_STATE_NAME, error=ResumeError, what="training checkpoint")
    except ResumeError as err:
        raise ResumeError(f"cannot resume: {err}") from None
    return CheckpointState(path, int(trainer_state.get("global_step", 0)), float(trainer_state.get("epoch") or 0.0),
                           sampler)


def _check_safetensors(file: Path) -> None:
    from safetensors import safe_open

    try:  # opening checks the header and that the data section covers the whole file (truncation)
        with safe_open(str(file), framework="pt") as handle:
            handle.keys()
    except Exception as err:  # noqa: BLE001 - safetensors raises several types for a damaged file
        raise _broken(file, f"cannot be read ({type(err).__name__}: {err})") from None


def is_finished(state: CheckpointState, args: Any) -> bool:
    """Whether the run of ``state`` already reached the end that ``args`` asks for."""
    if args.max_steps > 0:
        return state.global_step >= args.max_steps
    return state.epoch >= float(args.num_train_epochs)


def check_same_batches(saved: dict[str, Any], current: dict[str, Any], allow_change: bool) -> None:
    """Refuse a resume whose batch layout differs from the checkpoint's, unless ``allow_change``."""
    changed = {key: (saved[key], current[key]) for key in BATCH_LAYOUT_KEYS
               if key in saved and key in current and saved[key] != current[key]}
    if not changed:
        return
    listing = ", ".join(f"{key} {old!r} -> {new!r}" for key, (old, new) in changed.items())
    message = (f"resuming with a different batch layout than the checkpoint ({listing}): the sampler would draw "
               "other batches from here on, so the rest of the epoch neither matches the interrupted run nor "
               "covers each group exactly once (some may repeat, others be skipped).")
    if not allow_change:
        raise ResumeError(message + " Resume with the checkpoint's settings, or pass --resume_with_different_batches "
                                    "to accept that.")
    logger.warning("%s Continuing: --resume_with_different_batches was given.", message)
