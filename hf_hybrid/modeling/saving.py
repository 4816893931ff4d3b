"""What ``DualEncoder.save_pretrained`` writes, and how it publishes it atomically.

The layout (``docs/design.md`` section 4, names in :mod:`hf_hybrid.checkpoint.layout`): each tower as
transformers (or PEFT, for LoRA towers) saves it, with the tokenizer beside it; ``hf_hybrid_config.json``
(our settings and the LoRA record); the sentence-transformers files
(:func:`hf_hybrid.checkpoint.st_format.write_st_files`); then the optional model card and extra files
(e.g. the training record). Everything is written into a temporary sibling directory and published in
one step by :func:`hf_hybrid.checkpoint.atomic.atomic_write_dir`, so a killed job never leaves a
directory that loaders accept but that holds half the weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import Tensor

from hf_hybrid.checkpoint import HF_HYBRID_CONFIG_NAME, atomic_write_dir, write_json, write_st_files
from hf_hybrid.modeling.config import DualEncoderConfig
from hf_hybrid.modeling.lora import lora_record, point_adapter_at_base
from hf_hybrid.modeling.towers import is_peft, present_towers


def write_towers(model: Any, root: Path, state_dict: Mapping[str, Tensor] | None = None) -> None:
    """Save each tower of ``model`` (and the tokenizer) into its folder under ``root``.

    ``state_dict`` (keys of ``model.state_dict()``, e.g. gathered by the Trainer under DeepSpeed/FSDP)
    replaces the live weights when given.
    """
    for slot, tower in present_towers(model):
        folder = slot.folder(root)
        sub = None
        if state_dict is not None:
            prefix = f"{slot.attr}."
            sub = {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
        folder.mkdir(parents=True, exist_ok=True)
        tower.save_pretrained(str(folder), state_dict=sub)
        model.tokenizer.save_pretrained(str(folder))
        if is_peft(tower):
            point_adapter_at_base(tower, folder)
            # PEFT writes a placeholder model card ("Model Card for Model ID"); the card is ours to write
            # (hf_hybrid.hub), and a placeholder must never replace a real card already in the folder.
            (folder / "README.md").unlink(missing_ok=True)


def write_configs(model: Any, root: Path) -> None:
    """Write ``hf_hybrid_config.json`` and the sentence-transformers files of ``model`` into ``root``."""
    settings = DualEncoderConfig(**{**model.settings.to_dict(), "shared_towers": model.shared_towers, "lora": lora_record(model)})
    write_json(root / HF_HYBRID_CONFIG_NAME, settings.to_dict())
    write_st_files(root, settings, model.embedding_dim)


def write_extra_files(root: Path, extra_files: Mapping[str, str | bytes]) -> None:
    """Write ``extra_files`` (relative name -> text or bytes) under ``root``; names must stay inside it."""
    for rel, content in extra_files.items():
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise ValueError(f"extra_files key {rel!r} must be a relative path inside the model directory")
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))


def save_dual_encoder(
    model: Any,
    target: Path,
    *,
    state_dict: Mapping[str, Tensor] | None = None,
    model_card: str | None = None,
    extra_files: Mapping[str, str | bytes] | None = None,
) -> Path:
    """Write ``model``'s checkpoint into a temporary directory and publish it at ``target``; return ``target``."""

    def write(tmp: Path) -> None:
        write_towers(model, tmp, state_dict)
        write_configs(model, tmp)
        if model_card is not None:
            (tmp / "README.md").write_text(model_card, encoding="utf-8")
        write_extra_files(tmp, extra_files or {})

    return atomic_write_dir(target, write)
