"""``DualEncoderConfig``: the settings that turn an encoder into a retriever, and their length checks.

Saved as ``hf_hybrid_config.json`` next to the weights (``docs/design.md`` section 4): pooling,
normalisation, the query / passage prompts and truncation lengths, whether the towers are shared, and
the LoRA bookkeeping of an adapter checkpoint. The lengths are checked against what the encoder's
position embeddings allow, so a too-long setting fails when the model is built, not deep inside a
forward pass on the first long text.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from hf_hybrid.checkpoint import HF_HYBRID_CONFIG_NAME

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
DEFAULT_QUERY_MAX_LENGTH = 64
DEFAULT_PASSAGE_MAX_LENGTH = 256

# Models whose learned position embeddings start at ``padding_idx + 1`` (fairseq heritage): XLM-R has
# max_position_embeddings=514 but encodes at most 512 tokens.
_PADDING_OFFSET_MODEL_TYPES = {
    "roberta",
    "xlm-roberta",
    "xlm-roberta-xl",
    "camembert",
    "data2vec-text",
    "ibert",
    "longformer",
    "mpnet",
    "roberta-prelayernorm",
    "xmod",
}


@dataclass
class DualEncoderConfig:
    """The settings that turn an encoder into a retriever; saved as ``hf_hybrid_config.json``.

    ``pooling`` holds the canonical value of a :class:`~hf_hybrid.modeling.pooling.Pooling` (a plain
    string, so the JSON reads ``"pooling": "cls"``). ``lora`` is set for adapter checkpoints:
    ``{"query": {...}, "passage": {...}}`` with each tower's base model and LoRA settings.
    """

    pooling: str = "mean"
    normalize: bool = True
    query_prompt: str = ""
    passage_prompt: str = ""
    query_max_length: int = DEFAULT_QUERY_MAX_LENGTH
    passage_max_length: int = DEFAULT_PASSAGE_MAX_LENGTH
    shared_towers: bool = True
    lora: dict[str, Any] | None = None
    format_version: int = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = HF_HYBRID_CONFIG_NAME) -> DualEncoderConfig:
        """Build from a saved dict; unknown keys (from a newer hf-hybrid) are ignored with a warning."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            logger.warning("%s: ignoring unknown keys %s (written by a newer hf-hybrid?)", source, unknown)
        return cls(**{k: v for k, v in data.items() if k in known})


def _text_config(config: Any) -> Any:
    return config.get_text_config() if hasattr(config, "get_text_config") else config


def position_limit(config: Any) -> int | None:
    """The longest input (in tokens) the encoder's position embeddings allow, or None when unbounded.

    For fairseq-style models (XLM-R, RoBERTa...) the first ``pad_token_id + 1`` positions are reserved,
    so ``max_position_embeddings=514`` means 512 tokens.
    """
    text_config = _text_config(config)
    mpe = getattr(text_config, "max_position_embeddings", None)
    if not isinstance(mpe, int) or mpe <= 0:
        return None
    offset = 0
    if getattr(text_config, "model_type", None) in _PADDING_OFFSET_MODEL_TYPES:
        offset = int(getattr(text_config, "pad_token_id", 1) or 0) + 1
    return mpe - offset


def check_max_length(name: str, value: int, config: Any) -> int:
    """``value`` if it is a positive number of tokens the encoder (transformers ``config``) can encode."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name}={value!r} must be a positive integer (a number of tokens)")
    limit = position_limit(config)
    if limit is not None and value > limit:
        text_config = _text_config(config)
        mpe = text_config.max_position_embeddings
        reserved = mpe - limit
        detail = (
            f" minus {reserved} positions reserved after the padding index in {text_config.model_type}"
            if reserved
            else ""
        )
        raise ValueError(
            f"{name}={value} is longer than the model can encode: max_position_embeddings={mpe}{detail} "
            f"allows at most {limit} tokens. Set {name} <= {limit}."
        )
    return value


def default_max_length(default: int, config: Any) -> int:
    """``default``, capped at what the encoder's position embeddings allow."""
    limit = position_limit(config)
    return default if limit is None else min(default, limit)
