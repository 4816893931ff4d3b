"""hf-hybrid: hybrid batch sampling for multilingual dense retrievers (arXiv 2408.10536).

The names a user needs are importable from here; everything else lives in its subpackage
(``docs/architecture.md`` has the map). Submodules load on first use, so ``import hf_hybrid`` stays fast
and light (torch, transformers and sentence-transformers are imported only by what needs them).

- data (:mod:`hf_hybrid.data`): :func:`load_parallel_data`, :func:`load_pairs`, :func:`load_lareqa`,
  :func:`load_lareqa_pool`, :func:`load_pool`, :func:`split_by_article`, :class:`RetrievalPool`, :class:`DataError`
- sampling (:mod:`hf_hybrid.sampling`): :class:`HybridBatchSampler`, :class:`Strategy`
- model and loss (:mod:`hf_hybrid.modeling`): :class:`DualEncoder`, :class:`InfoNCELoss`, :func:`apply_lora`,
  :func:`merge_and_export`
- training (:mod:`hf_hybrid.training`): :class:`DualEncoderTrainer`, :class:`HybridTrainingArguments`,
  :class:`ModelArguments`, :class:`DataArguments`
- evaluation (:mod:`hf_hybrid.evaluation`): :func:`evaluate_model`, :func:`evaluate_embeddings`,
  :func:`evaluate_scores`, :class:`RetrievalResult`, :class:`LAReQAEvaluator` (sentence-transformers)
- Hub (:mod:`hf_hybrid.hub`): :func:`push`, :func:`write_model_card`
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

_EXPORTS: dict[str, str] = {
    "DataError": "data", "RetrievalPool": "data", "load_lareqa": "data", "load_lareqa_pool": "data",
    "load_pairs": "data", "load_parallel_data": "data", "load_pool": "data", "split_by_article": "data",
    "HybridBatchSampler": "sampling", "Strategy": "sampling",
    "DualEncoder": "modeling", "InfoNCELoss": "modeling", "apply_lora": "modeling", "merge_and_export": "modeling",
    "DualEncoderTrainer": "training", "HybridTrainingArguments": "training", "ModelArguments": "training",
    "DataArguments": "training",
    "RetrievalResult": "evaluation", "evaluate_model": "evaluation", "evaluate_embeddings": "evaluation",
    "evaluate_scores": "evaluation", "LAReQAEvaluator": "evaluation",
    "push": "hub", "write_model_card": "hub",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hf_hybrid' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # for type checkers and IDEs: the eager imports the lazy table stands for
    from .data import (DataError, RetrievalPool, load_lareqa, load_lareqa_pool, load_pairs, load_parallel_data,
                       load_pool, split_by_article)
    from .evaluation import LAReQAEvaluator, RetrievalResult, evaluate_embeddings, evaluate_model, evaluate_scores
    from .hub import push, write_model_card
    from .modeling import DualEncoder, InfoNCELoss, apply_lora, merge_and_export
    from .sampling import HybridBatchSampler, Strategy
    from .training import DataArguments, DualEncoderTrainer, HybridTrainingArguments, ModelArguments
