"""LoRA fine-tuning of a DualEncoder's towers with PEFT: ``apply_lora``, ``merge_lora``.

PEFT does the work (adapter layers, saving, merging); this module only picks sensible target modules
for encoder architectures, wraps each tower, and keeps the bookkeeping an adapter checkpoint needs: which
base model each tower adapts (``hf_hybrid_config.json``'s ``lora`` record, ``docs/design.md`` section 4),
so that the adapter directory loads with ``DualEncoder.from_pretrained`` (and with ``SentenceTransformer``,
which resolves the base model from ``adapter_config.json``). Exporting a merged full model is
:func:`hf_hybrid.modeling.export.merge_and_export`.

Works on anything with ``encoder`` / ``passage_encoder`` towers and a ``config`` (duck typing), so it
does not import :mod:`hf_hybrid.modeling.dual_encoder`, which imports it (not even for type hints).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from hf_hybrid.checkpoint import ADAPTER_CONFIG_NAME, read_json, write_json
from hf_hybrid.checkpoint.layout import MODEL_CONFIG_NAME
from hf_hybrid.modeling.towers import is_peft, present_towers

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
# Where apply_lora notes a tower's base model (PEFT records one string, which cannot name a subfolder).
_BASE_ATTR = "_hf_hybrid_base"


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


def has_lora(model: Any) -> bool:
    """Whether any tower of ``model`` carries PEFT adapters."""
    return any(is_peft(tower) for _, tower in present_towers(model))


def apply_lora(
    dual_encoder: nn.Module,
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

    if has_lora(dual_encoder):
        raise ValueError("this DualEncoder already has LoRA adapters; merge them (merge_and_export) before adding new ones")
    if r <= 0:
        raise ValueError(f"r={r} must be a positive integer (the LoRA rank)")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout={dropout} must be in [0, 1)")
    targets: list[str] | str = (
        default_target_modules(dual_encoder.config.model_type)
        if target_modules is None
        else (target_modules if isinstance(target_modules, str) else list(target_modules))
    )
    for slot, tower in present_towers(dual_encoder):
        config = LoraConfig(
            r=r,
            lora_alpha=alpha,
            lora_dropout=dropout,
            target_modules=targets,
            exclude_modules=_EXCLUDE,
            task_type=TaskType.FEATURE_EXTRACTION,
        )
        base_path = str(getattr(tower, "name_or_path", None) or tower.config._name_or_path)
        # A passage tower loaded from <dir>/passage_encoder reports <dir> as its name: keep the subfolder.
        sub = slot.subfolder
        base_sub = ""
        if sub and Path(base_path).name != sub and (Path(base_path) / sub / MODEL_CONFIG_NAME).exists():
            base_sub = sub
        peft_model = get_peft_model(tower, config)
        setattr(peft_model, _BASE_ATTR, {"base_model_name_or_path": base_path, "base_subfolder": base_sub})
        setattr(dual_encoder, slot.attr, peft_model)
    trainable, total = count_parameters(dual_encoder)
    report = LoraReport(trainable, total, targets)
    if verbose:
        print(report)
    logger.info("%s", report)
    return report


def train_adapters_only(model: Any) -> None:
    """Make the adapters of ``model``'s LoRA towers trainable, and nothing else of those towers."""
    for _, tower in present_towers(model):
        if is_peft(tower):
            for name, param in tower.named_parameters():
                param.requires_grad = "lora_" in name


def merge_lora(model: Any) -> Any:
    """Merge every tower's LoRA adapters into its base weights, in place; return ``model``.

    The merged towers are plain transformers models again, fully trainable.
    """
    if not has_lora(model):
        raise ValueError("nothing to merge: the model has no LoRA adapters")
    for slot, tower in present_towers(model):
        if is_peft(tower):
            merged = tower.merge_and_unload()
            merged.requires_grad_(True)
            setattr(model, slot.attr, merged)
    return model


def lora_settings(tower: nn.Module) -> dict[str, Any]:
    """The LoRA settings of a PEFT tower: ``r``, ``lora_alpha``, ``lora_dropout``, ``target_modules``."""
    cfg = tower.peft_config[tower.active_adapter]
    targets = cfg.target_modules
    return {
        "r": cfg.r,
        "lora_alpha": cfg.lora_alpha,
        "lora_dropout": cfg.lora_dropout,
        "target_modules": sorted(targets) if isinstance(targets, (set, list, tuple)) else targets,
    }


def lora_record(model: Any) -> dict[str, Any] | None:
    """``hf_hybrid_config.json``'s ``lora`` entry: per tower role (``query`` / ``passage``), its base model
    (``base_model_name_or_path``, ``base_subfolder``) and ``r``, ``lora_alpha``, ``target_modules``."""
    record: dict[str, Any] = {}
    for slot, tower in present_towers(model):
        if is_peft(tower):
            cfg = tower.peft_config[tower.active_adapter]
            base = getattr(tower, _BASE_ATTR, None) or {"base_model_name_or_path": cfg.base_model_name_or_path}
            settings = lora_settings(tower)
            record[slot.role] = {**base, **{key: settings[key] for key in ("r", "lora_alpha", "target_modules")}}
    return record or None


def point_adapter_at_base(tower: nn.Module, folder: Path) -> None:
    """After PEFT saved ``tower`` to ``folder``: spell a base inside a subfolder of a local directory.

    PEFT records one string as the base model; for a passage tower whose base is ``<dir>/passage_encoder``
    that string must include the subfolder for other loaders (sentence-transformers) to find it.
    """
    base = getattr(tower, _BASE_ATTR, None)
    if not base or not base.get("base_subfolder"):
        return
    base_path = Path(base["base_model_name_or_path"])
    if base_path.is_dir():
        cfg_path = folder / ADAPTER_CONFIG_NAME
        cfg = read_json(cfg_path)
        cfg["base_model_name_or_path"] = str(base_path / base["base_subfolder"])
        write_json(cfg_path, cfg, sort_keys=True)
