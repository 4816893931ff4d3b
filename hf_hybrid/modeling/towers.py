"""One tower of a DualEncoder: where it lives in a checkpoint, and how it loads.

A tower is a transformers ``AutoModel`` encoder, or a PEFT model around one. In a checkpoint the query
(or shared) tower sits at the root and a separate passage tower in ``passage_encoder/``
(:data:`TOWER_SLOTS`, ``docs/design.md`` section 4). A tower folder holding a PEFT adapter instead of
weights is loaded as base model + adapter; the base is found in ``hf_hybrid_config.json`` (which can
name a base inside a subfolder of a local directory), else in PEFT's ``adapter_config.json``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

from torch import nn
from transformers import AutoModel

from hf_hybrid.checkpoint import (
    ADAPTER_CONFIG_NAME,
    HF_HYBRID_CONFIG_NAME,
    PASSAGE_SUBFOLDER,
    ModelLoadError,
    read_json,
    resolve_model_dir,
)
from hf_hybrid.checkpoint.layout import MODEL_CONFIG_NAME


class TowerSlot(NamedTuple):
    """Where a tower lives: the DualEncoder attribute, the role of the texts it encodes, its checkpoint subfolder."""

    attr: str
    role: str
    subfolder: str

    def folder(self, root: Path) -> Path:
        """The tower's folder inside the checkpoint directory ``root``."""
        return root / self.subfolder if self.subfolder else root


TOWER_SLOTS = (TowerSlot("encoder", "query", ""), TowerSlot("passage_encoder", "passage", PASSAGE_SUBFOLDER))


def present_towers(model: Any) -> list[tuple[TowerSlot, nn.Module]]:
    """The towers ``model`` (a DualEncoder, or anything with ``encoder`` / ``passage_encoder``) has."""
    return [(slot, getattr(model, slot.attr)) for slot in TOWER_SLOTS if getattr(model, slot.attr, None) is not None]


def is_peft(tower: nn.Module) -> bool:
    """Whether ``tower`` is a PEFT model (a base encoder with adapters)."""
    try:
        from peft import PeftModel
    except ImportError:  # pragma: no cover - peft is a dependency
        return False
    return isinstance(tower, PeftModel)


def unwrap(tower: nn.Module) -> nn.Module:
    """The transformers model inside a tower (PEFT wrappers removed)."""
    get_base = getattr(tower, "get_base_model", None)
    return get_base() if callable(get_base) else tower


def is_adapter_dir(folder: Path) -> bool:
    """Whether ``folder`` holds a PEFT adapter rather than a full encoder."""
    return (folder / ADAPTER_CONFIG_NAME).exists() and not (folder / MODEL_CONFIG_NAME).exists()


class AdapterBase(NamedTuple):
    """The base model of an adapter folder: a local path or Hub id, and a subfolder inside it."""

    path: str
    subfolder: str = ""

    def directory(self) -> Path:
        """The base model's local directory (a Hub id is resolved; raises ``ModelLoadError``)."""
        root = resolve_model_dir(self.path)
        return root / self.subfolder if self.subfolder else root


def adapter_base(folder: Path) -> AdapterBase:
    """Where the base model of an adapter folder lives: hf-hybrid's record, else PEFT's."""
    ours = folder / HF_HYBRID_CONFIG_NAME
    if not ours.exists() and folder.name == PASSAGE_SUBFOLDER and (folder.parent / HF_HYBRID_CONFIG_NAME).exists():
        ours = folder.parent / HF_HYBRID_CONFIG_NAME
    if ours.exists():
        role = "passage" if folder.name == PASSAGE_SUBFOLDER else "query"
        lora = (read_json(ours).get("lora") or {}).get(role)
        if lora and lora.get("base_model_name_or_path"):
            return AdapterBase(lora["base_model_name_or_path"], lora.get("base_subfolder", ""))
    base = read_json(folder / ADAPTER_CONFIG_NAME).get("base_model_name_or_path")
    if not base:
        raise ModelLoadError(f"{folder / ADAPTER_CONFIG_NAME} has no base_model_name_or_path: cannot find the base model")
    return AdapterBase(base)


def load_tower(
    path: str | os.PathLike, *, subfolder: str = "", dtype: Any = None, trust_remote_code: bool = False
) -> nn.Module:
    """Load one tower: a plain HF encoder, or base + PEFT adapter (frozen) when the folder is an adapter."""
    folder = Path(path) / subfolder if subfolder else Path(path)
    if is_adapter_dir(folder):
        from peft import PeftModel

        base = load_tower(adapter_base(folder).directory(), dtype=dtype, trust_remote_code=trust_remote_code)
        return PeftModel.from_pretrained(base, str(folder), is_trainable=False)
    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if dtype is not None:
        kwargs["dtype"] = dtype
    try:
        model = AutoModel.from_pretrained(str(folder), **kwargs)
    except (OSError, ValueError) as err:  # transformers 5 raises ValueError for a folder it cannot recognise
        raise ModelLoadError(f"could not load the encoder in {folder}: {err}") from err
    # An absolute name makes PEFT adapters saved from this model point at a base that resolves from
    # any working directory.
    model.name_or_path = str(folder.resolve())
    model.config._name_or_path = str(folder.resolve())
    return model
