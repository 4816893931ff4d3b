"""Retrieval evaluation: LAReQA metrics from embeddings or scores (``docs/design.md`` section 3).

- :mod:`~hf_hybrid.evaluation.metrics_core`: the metric numbers, pure NumPy, from the rank counting of
  :mod:`~hf_hybrid.evaluation.ranking` (the ``evaluate`` metric Space ships byte-identical copies of both);
- :mod:`~hf_hybrid.evaluation.topk`: the same metrics from a run (top-k candidates per query, qrels),
  :func:`compute_topk_metrics` (shipped to the Space too);
- :mod:`~hf_hybrid.evaluation.result`: :class:`RetrievalResult` (summary, JSON, markdown, heatmap);
- :mod:`~hf_hybrid.evaluation.cache`: :class:`EmbeddingCache` keyed by :func:`model_fingerprint`;
- :mod:`~hf_hybrid.evaluation.evaluate`: :func:`evaluate_scores`, :func:`evaluate_embeddings`,
  :func:`evaluate_model`;
- :mod:`~hf_hybrid.evaluation.st_evaluator`: :class:`LAReQAEvaluator` for sentence-transformers training.

Every name is imported on first use.

Retrieval pools (LAReQA, BEIR) are loaded by :mod:`hf_hybrid.data`.  This package never imports the model
code: it encodes through any object with ``encode_queries`` / ``encode_passages``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hf_hybrid.evaluation.cache import EmbeddingCache, default_cache_dir, model_fingerprint
    from hf_hybrid.evaluation.evaluate import DEFAULT_K_VALUES, evaluate_embeddings, evaluate_model, evaluate_scores
    from hf_hybrid.evaluation.metrics_core import compute_retrieval_metrics
    from hf_hybrid.evaluation.result import RetrievalResult
    from hf_hybrid.evaluation.st_evaluator import LAReQAEvaluator
    from hf_hybrid.evaluation.topk import compute_topk_metrics

# Imported on first use: `python -m hf_hybrid.evaluation.metrics_core` must not find its own module
# already imported by this package, and LAReQAEvaluator pulls in sentence-transformers.
_LAZY = {
    "DEFAULT_K_VALUES": "evaluate",
    "EmbeddingCache": "cache",
    "LAReQAEvaluator": "st_evaluator",
    "RetrievalResult": "result",
    "compute_retrieval_metrics": "metrics_core",
    "compute_topk_metrics": "topk",
    "default_cache_dir": "cache",
    "evaluate_embeddings": "evaluate",
    "evaluate_model": "evaluate",
    "evaluate_scores": "evaluate",
    "model_fingerprint": "cache",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
