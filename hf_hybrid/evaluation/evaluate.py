"""Retrieval metrics of a model, of embeddings or of a score matrix on a `RetrievalPool`.

The numbers come from :mod:`hf_hybrid.evaluation.metrics_core` (``docs/design.md`` section 3); these
entry points feed it a pool's groups and languages and wrap its dict in a
:class:`~hf_hybrid.evaluation.result.RetrievalResult`.  :func:`evaluate_model` encodes through any object
with ``encode_queries`` / ``encode_passages`` (a :class:`hf_hybrid.modeling.DualEncoder`, or a test
fake), so this package never imports the model code; ``DualEncoderTrainer.evaluate`` and the
``python -m hf_hybrid evaluate`` command both call it, so training-time and standalone numbers are the
same code path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hf_hybrid.evaluation.cache import EmbeddingCache, encoding_settings, model_fingerprint
from hf_hybrid.evaluation.metrics_core import compute_retrieval_metrics
from hf_hybrid.evaluation.result import RetrievalResult

if TYPE_CHECKING:
    from hf_hybrid.data import RetrievalPool

__all__ = ["DEFAULT_K_VALUES", "evaluate_embeddings", "evaluate_model", "evaluate_scores"]

#: Recall@k cut-offs reported by default.
DEFAULT_K_VALUES = (1, 5, 10, 100)


def _evaluate(pool: RetrievalPool, model: str | None, max_chunk_elements: int | None,
              **inputs: Any) -> RetrievalResult:
    """The metrics core on the pool's groups and languages, wrapped in a result."""
    if max_chunk_elements is not None:
        inputs["max_chunk_elements"] = max_chunk_elements
    metrics = compute_retrieval_metrics(query_groups=pool.query_groups, candidate_groups=pool.cand_groups,
                                        query_langs=pool.query_langs, candidate_langs=pool.cand_langs, **inputs)
    return RetrievalResult(metrics, name=pool.name, model=model)


def evaluate_scores(
    scores: Any,
    pool: RetrievalPool,
    *,
    k_values: Sequence[int] = DEFAULT_K_VALUES,
    top_k: int = 10,
    languages: Sequence[str] | None = None,
    model: str | None = None,
    max_chunk_elements: int | None = None,
) -> RetrievalResult:
    """Metrics from a ``(num_queries, num_candidates)`` score matrix in ``pool`` order (array, memmap, tensor)."""
    return _evaluate(pool, model, max_chunk_elements, scores=scores, languages=languages, k_values=k_values,
                     top_k=top_k)


def evaluate_embeddings(
    query_embeddings: Any,
    candidate_embeddings: Any,
    pool: RetrievalPool,
    *,
    k_values: Sequence[int] = DEFAULT_K_VALUES,
    top_k: int = 10,
    languages: Sequence[str] | None = None,
    model: str | None = None,
    max_chunk_elements: int | None = None,
) -> RetrievalResult:
    """Metrics from query/candidate embeddings (dot product; reported as cosine when they are unit-norm)."""
    return _evaluate(pool, model, max_chunk_elements, query_embeddings=query_embeddings,
                     candidate_embeddings=candidate_embeddings, languages=languages, k_values=k_values, top_k=top_k)


def _encode(model: Any, role: str, texts: list[str], batch_size: int, show_progress_bar: bool) -> np.ndarray:
    name = f"encode_{'queries' if role == 'query' else 'passages'}"
    method = getattr(model, name, None)
    if method is None:
        raise TypeError(f"{type(model).__name__} has no {name}(); evaluate_model needs a hf_hybrid DualEncoder "
                        "(or an object with both encode methods).")
    out = method(texts, batch_size=batch_size, show_progress_bar=show_progress_bar)  # numpy by default
    if hasattr(out, "detach"):
        out = out.detach().cpu().numpy()
    return np.asarray(out, dtype=np.float32)


def evaluate_model(
    model: Any,
    pool: RetrievalPool,
    batch_size: int = 32,
    cache_dir: str | os.PathLike | None = None,
    show_progress_bar: bool = False,
    *,
    k_values: Sequence[int] = DEFAULT_K_VALUES,
    top_k: int = 10,
    languages: Sequence[str] | None = None,
    model_name: str | None = None,
) -> RetrievalResult:
    """Encode ``pool`` with ``model`` (queries with ``encode_queries``, candidates with ``encode_passages``) and score it.

    ``cache_dir`` enables the on-disk :class:`~hf_hybrid.evaluation.cache.EmbeddingCache` (keyed by the
    model's weights); leave it ``None`` during training, where weights change every step and fingerprinting
    would only cost time.  Each distinct text is encoded once either way.
    """
    if len(pool.query_texts) == 0 or len(pool.cand_texts) == 0:
        raise ValueError(f"pool '{pool.name}' is empty ({len(pool.query_texts)} queries, "
                         f"{len(pool.cand_texts)} candidates); nothing to evaluate.")
    cache = EmbeddingCache(cache_dir, model_fingerprint(model)) if cache_dir is not None else None
    embs = {}
    for role, texts in (("query", pool.query_texts), ("passage", pool.cand_texts)):
        texts = list(texts)
        fn = lambda ts, role=role: _encode(model, role, ts, batch_size, show_progress_bar)  # noqa: E731
        if cache is not None:
            prompt, max_len = encoding_settings(model, role)
            embs[role] = cache.encode(texts, role, fn, prompt=prompt, max_length=max_len)
        else:
            unique = list(dict.fromkeys(texts))
            enc = fn(unique)
            if enc.shape[0] != len(unique):
                raise ValueError(f"encoder returned {enc.shape[0]} embeddings for {len(unique)} {role} texts.")
            index = {t: i for i, t in enumerate(unique)}
            embs[role] = enc[[index[t] for t in texts]] if len(unique) != len(texts) else enc
    name = model_name or getattr(model, "name_or_path", None) or getattr(getattr(model, "config", None),
                                                                            "_name_or_path", None)
    return evaluate_embeddings(embs["query"], embs["passage"], pool, k_values=k_values, top_k=top_k,
                               languages=languages, model=str(name) if name else None)
