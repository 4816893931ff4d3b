"""LoRA fine-tuning of a :class:`~hf_hybrid.model.DualEncoder` with PEFT.

PEFT does the work (adapter layers, saving, merging); this module only picks sensible target modules
for encoder architectures, wraps each tower, and exports a merged model in our checkpoint layout.
An adapter checkpoint is saved by :meth:`DualEncoder.save_pretrained` like a full one: the adapter
files (``adapter_config.json``, ``adapter_model.safetensors``) replace ``config.json`` +
``model.safetensors``, and the sentence-transformers / ``hf_hybrid_config.json`` files are written too,
so the adapter directory documents its prompts and pooling and loads with
``DualEncoder.from_pretrained`` (and with ``SentenceTransformer``, which resolves the base model).
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from hf_hybrid.model import DualEncoder, _is_peft

logger = logging.getLogger(__name__)

# BERT-family encoders (BERT, LaBSE, e5, XLM-R, RoBERTa...) name their attention projections
# query/key/value and every other linear layer "dense". PEFT's own default for them is query+value only;
# for retrieval fine-tuning adapting all linear layers is the usual, stronger choice.
_BERT_LIKE_TARGETS = ["query", "key", "value", "dense"]
_BERT_LIKE_TYPES = {
    "bert",
    "xlm-roberta",
    "xlm-roberta-xl",
    "roberta",
    "camembert",
    "electra",
    "data2vec-text",
    "roberta-prelayernorm",
    "xmod",
    "ernie",
}
# The BERT pooler is a "dense" layer too, but DualEncoder never uses it: adapting it would add
# parameters that get no gradient (and make DDP complain about unused parameters).
_EXCLUDE = r".*pooler.*"


@dataclass
class LoraReport:
    """Parameter counts after :func:`apply_lora`."""

    trainable: int
    total: int
    target_modules: list[str] | str

    @property
    def percent(self) -> float:
        return 100.0 * self.trainable / max(self.total, 1)

    def __str__(self) -> str:
        return f"LoRA: {self.trainable:,} trainable / {self.total:,} parameters ({self.percent:.3f}%)"


def default_target_modules(model_type: str) -> list[str]:
    """LoRA target modules for ``model_type``: all linear layers for BERT-like encoders, else PEFT's default."""
    if model_type in _BERT_LIKE_TYPES:
        return list(_BERT_LIKE_TARGETS)
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING

    targets = TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING.get(model_type)
    if not targets:
        raise ValueError(
            f"no default LoRA target modules for model_type={model_type!r}: pass target_modules=[...] "
            "(names of its linear layers, e.g. ['q_proj', 'v_proj']) or target_modules='all-linear'"
        )
    return list(targets)


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts; shared tensors counted once."""
    seen: set[int] = set()
    trainable = total = 0
    for p in model.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += p.numel()
        if p.requires_grad:
            trainable += p.numel()
    return trainable, total


def apply_lora(
    dual_encoder: DualEncoder,
    r: int = 8,
    alpha: int = 16,
    dropout: float = 0.0,
    target_modules: Sequence[str] | str | None = None,
    *,
    verbose: bool = True,
) -> LoraReport:
    """Wrap each tower of ``dual_encoder`` (in place) in a PEFT LoRA model; only adapters train.

    ``target_modules=None`` picks :func:`default_target_modules` for the encoder's ``model_type``.
    Prints (``verbose``) and returns the trainable / total parameter counts.
    """
    from peft import LoraConfig, TaskType, get_peft_model

    if any(_is_peft(t) for t in dual_encoder._towers()):
        raise ValueError("this DualEncoder already has LoRA adapters; merge them (merge_and_export) before adding new ones")
    if r <= 0:
        raise ValueError(f"r={r} must be a positive integer (the LoRA rank)")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout={dropout} must be in [0, 1)")
    model_type = dual_encoder.config.model_type
    targets: list[str] | str = (
        default_target_modules(model_type)
        if target_modules is None
        else (target_modules if isinstance(target_modules, str) else list(target_modules))
    )
    for attr, sub in (("encoder", ""), ("passage_encoder", "passage_encoder")):
        tower = getattr(dual_encoder, attr)
        if tower is None:
            continue
        config = LoraConfig(
            r=r,
            lora_alpha=alpha,
            lora_dropout=dropout,
            target_modules=targets,
            exclude_modules=_EXCLUDE,
            task_type=TaskType.FEATURE_EXTRACTION,
        )
        base_name = getattr(tower, "name_or_path", None) or tower.config._name_or_path
        # A passage tower loaded from <dir>/passage_encoder reports <dir> as its name: keep the subfolder.
        base_path, base_sub = str(base_name), ""
        if sub and Path(base_path).name != sub and (Path(base_path) / sub / "config.json").exists():
            base_sub = sub
        peft_model = get_peft_model(tower, config)
        peft_model._hf_hybrid_base = {"base_model_name_or_path": base_path, "base_subfolder": base_sub}
        setattr(dual_encoder, attr, peft_model)
    trainable, total = count_parameters(dual_encoder)
    report = LoraReport(trainable, total, targets)
    if verbose:
        print(report)
    logger.info("%s", report)
    return report


def merge_and_export(adapter_dir_or_model: str | os.PathLike | DualEncoder, out_dir: str | os.PathLike, **save_kwargs) -> Path:
    """Merge LoRA adapters into the base weights and save a full model in our layout at ``out_dir``.

    Accepts an adapter directory or a LoRA :class:`DualEncoder` (which is left untouched: a copy is
    merged). The result loads with ``AutoModel``, ``SentenceTransformer`` and ``DualEncoder`` with no
    PEFT involved, and gives the same embeddings as base + adapter.
    """
    if isinstance(adapter_dir_or_model, DualEncoder):
        model = copy.deepcopy(adapter_dir_or_model)
    else:
        model = DualEncoder.from_pretrained(adapter_dir_or_model)
    if not any(_is_peft(t) for t in model._towers()):
        raise ValueError("nothing to merge: the model has no LoRA adapters")
    for attr in ("encoder", "passage_encoder"):
        tower = getattr(model, attr)
        if tower is not None and _is_peft(tower):
            merged = tower.merge_and_unload()
            setattr(model, attr, merged)
            merged.requires_grad_(True)
    assert not any(_is_peft(t) for t in model._towers())
    return model.save_pretrained(out_dir, **save_kwargs)
