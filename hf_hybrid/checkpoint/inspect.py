"""What a checkpoint folder holds: a full model or a PEFT adapter, and its base model.

Why: publishing, the model card and the evaluator must tell a full checkpoint (``config.json`` +
weights) from a LoRA adapter (``adapter_config.json`` + adapter weights) and find an adapter's base
model, and they must refuse early, with a clear message, a folder that is neither: an unfinished save,
a staging folder of an interrupted one, the wrong folder (``docs/design.md`` section 4).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hf_hybrid.checkpoint.errors import NotACheckpointError
from hf_hybrid.checkpoint.jsonfile import read_json
from hf_hybrid.checkpoint.layout import (
    ADAPTER_CONFIG_NAME,
    ADAPTER_WEIGHT_FILES,
    MODEL_CONFIG_NAME,
    MODULES_NAME,
    TRAINING_RECORD_NAME,
    WEIGHT_FILES,
)
from hf_hybrid.checkpoint.resolve import resolve_model_dir

# Where a training record (or an older flat training config) names the model it started from.
_BASE_MODEL_KEYS = ("base_model", "model_name_or_path", "base_model_name_or_path", "model", "model_name")


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint folder holds.

    Attributes:
        path: the local folder (for a Hub id: the downloaded snapshot).
        weights: ``"full"`` (weights + config) or ``"adapter"`` (PEFT ``adapter_config.json`` + weights).
        base_model: for adapters, ``base_model_name_or_path`` of ``adapter_config.json``; for full models,
            the base model recorded in the training record, if any.
        sentence_transformers: whether ``modules.json`` (the sentence-transformers layout) is present.
        repo_id: the Hub id it was resolved from, if any.
    """

    path: Path
    weights: Literal["full", "adapter"]
    base_model: str | None = None
    sentence_transformers: bool = False
    repo_id: str | None = None

    @property
    def is_adapter(self) -> bool:
        return self.weights == "adapter"


def _read_object(path: Path) -> dict[str, Any]:
    data = read_json(path, error=NotACheckpointError)
    if not isinstance(data, dict):
        raise NotACheckpointError(f"{path} must hold a JSON object, found {type(data).__name__}; the checkpoint is damaged")
    return data


def _recorded_base_model(record: Mapping[str, Any]) -> str | None:
    for key in _BASE_MODEL_KEYS:
        value = record.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def inspect_checkpoint(path: str | os.PathLike) -> CheckpointInfo:
    """Classify a local folder as a full checkpoint or a PEFT adapter, or raise :class:`NotACheckpointError`.

    A full checkpoint has ``config.json`` plus weights (``model.safetensors``, ``pytorch_model.bin`` or a
    sharded index); an adapter has ``adapter_config.json`` plus ``adapter_model.safetensors``/``.bin``.
    """
    folder = Path(path)
    if not folder.exists():
        raise NotACheckpointError(f"{folder} does not exist: pass the folder written by save_pretrained/training.")
    if not folder.is_dir():
        raise NotACheckpointError(f"{folder} is a file, not a checkpoint folder: pass the folder that contains it.")
    if folder.name.startswith(".staging-"):
        raise NotACheckpointError(
            f"{folder} is an unfinished staging folder of an interrupted save; use a complete checkpoint-N folder instead."
        )
    names = {p.name for p in folder.iterdir()}
    record = folder / TRAINING_RECORD_NAME
    recorded_base = _recorded_base_model(_read_object(record)) if record.is_file() else None
    st = MODULES_NAME in names
    if ADAPTER_CONFIG_NAME in names:
        if not names.intersection(ADAPTER_WEIGHT_FILES):
            raise NotACheckpointError(
                f"{folder} has {ADAPTER_CONFIG_NAME} but no adapter weights ({' or '.join(ADAPTER_WEIGHT_FILES)}): "
                "the adapter save did not finish."
            )
        base = _read_object(folder / ADAPTER_CONFIG_NAME).get("base_model_name_or_path") or recorded_base
        return CheckpointInfo(folder, "adapter", base, st)
    if MODEL_CONFIG_NAME in names and names.intersection(WEIGHT_FILES):
        return CheckpointInfo(folder, "full", recorded_base, st)
    if MODEL_CONFIG_NAME in names:
        raise NotACheckpointError(
            f"{folder} has {MODEL_CONFIG_NAME} but no weights ({', '.join(WEIGHT_FILES)}): "
            "the save did not finish or the weights live elsewhere."
        )
    found = ", ".join(sorted(names)[:8]) or "nothing"
    raise NotACheckpointError(
        f"{folder} is not a checkpoint: expected config.json + model.safetensors (full model) or "
        f"adapter_config.json + adapter_model.safetensors (LoRA adapter); found {found}."
    )


def resolve_checkpoint(
    name_or_path: str | os.PathLike, *, revision: str | None = None, token: str | bool | None = None
) -> CheckpointInfo:
    """Find a checkpoint by local path or Hub id (downloading a Hub repo) and classify it.

    What train.py, the evaluator and the demo call so that ``org/name`` works wherever a path does. For an
    adapter, :attr:`CheckpointInfo.base_model` comes from its ``adapter_config.json``: load that base
    model, then the adapter on top (``PeftModel.from_pretrained(base, info.path)``). Resolution errors are
    :class:`~hf_hybrid.checkpoint.errors.ModelLoadError` (see :func:`resolve_model_dir`).
    """
    local = Path(os.fspath(name_or_path)).expanduser()
    if local.exists():
        return inspect_checkpoint(local)
    folder = resolve_model_dir(name_or_path, revision=revision, token=token)
    return dataclasses.replace(inspect_checkpoint(folder), repo_id=os.fspath(name_or_path))
