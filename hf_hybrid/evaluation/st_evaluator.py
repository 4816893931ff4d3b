"""A sentence-transformers evaluator for LAReQA-style multilingual retrieval.

Why: users who train with ``SentenceTransformerTrainer`` (not our ``DualEncoderTrainer``) should get the
same pool mAP / mono / cross / MaxRD numbers (``docs/design.md`` section 3), computed by the same code
(:func:`hf_hybrid.evaluation.evaluate_embeddings`), in their training logs, checkpoint selection and
auto-generated model cards. sentence-transformers' own ``InformationRetrievalEvaluator`` has no notion of a
multilingual pool with one relevant answer per language nor of language bias, so it cannot report these.
This module imports sentence-transformers; ``hf_hybrid.evaluation`` loads it only when
``LAReQAEvaluator`` is first used.

Usage::

    from sentence_transformers import SentenceTransformer
    from hf_hybrid.data import load_lareqa_pool
    from hf_hybrid.evaluation import LAReQAEvaluator

    pool = load_lareqa_pool("xquad-r/", languages=["en", "de", "zh"])
    evaluator = LAReQAEvaluator(pool, name="xquad-r")
    metrics = evaluator(SentenceTransformer("org/model"))   # {"xquad-r_pool_map": ..., ...}
    # or: SentenceTransformerTrainer(..., evaluator=evaluator), args.metric_for_best_model="eval_xquad-r_pool_map"
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sentence_transformers.base.evaluation.evaluator import BaseEvaluator

from hf_hybrid.data import RetrievalPool
from hf_hybrid.evaluation.evaluate import DEFAULT_K_VALUES, evaluate_embeddings
from hf_hybrid.evaluation.result import RetrievalResult

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

__all__ = ["LAReQAEvaluator"]

_LOWER_IS_BETTER = {"max_rd", "num_skipped"}


class LAReQAEvaluator(BaseEvaluator):
    """Evaluate a ``SentenceTransformer`` on a :class:`~hf_hybrid.data.RetrievalPool` (LAReQA conventions).

    Queries are embedded with ``model.encode_query`` and candidates with ``model.encode_document``, so the
    model's own query/document prompts and routes apply; scores are dot products of the embeddings
    (cosine for models that end in ``Normalize``). Returned keys are ``{name}_pool_map``,
    ``{name}_mono_map``, ``{name}_cross_map``, ``{name}_max_rd`` and the pool Recall/MRR/nDCG values.

    Args:
        pool: queries and candidates (e.g. ``hf_hybrid.data.load_lareqa_pool``).
        name: prefix of the metric names (and of the results file).
        primary_metric: the metric used for checkpoint selection (without the prefix); ``max_rd`` is
            lower-is-better, which sets ``greater_is_better`` accordingly.
        batch_size / show_progress_bar: passed to ``encode_query`` / ``encode_document``.
        k_values / top_k: Recall@k cut-offs and the top-k of the language-share table.
        write_json: write ``{name}_results.json`` (the full :class:`RetrievalResult`) into ``output_path``.
    """

    def __init__(
        self,
        pool: RetrievalPool,
        name: str | None = None,
        *,
        primary_metric: str = "pool_map",
        batch_size: int = 32,
        show_progress_bar: bool = False,
        k_values: Sequence[int] = DEFAULT_K_VALUES,
        top_k: int = 10,
        write_json: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(pool, RetrievalPool):
            raise TypeError(f"pool must be a hf_hybrid.data.RetrievalPool, got {type(pool).__name__}")
        if not pool.query_texts or not pool.cand_texts:
            raise ValueError(f"pool {pool.name!r} has {len(pool.query_texts)} queries and {len(pool.cand_texts)} "
                             "candidates: both must be non-empty to evaluate retrieval")
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size={batch_size!r} must be a positive integer")
        self.pool = pool
        self.name = pool.name if name is None else name
        self.batch_size = batch_size
        self.show_progress_bar = show_progress_bar
        self.k_values = tuple(k_values)
        self.top_k = top_k
        self.write_json = write_json
        self.primary_metric = primary_metric
        self.greater_is_better = primary_metric not in _LOWER_IS_BETTER
        self.last_result: RetrievalResult | None = None

    def __call__(self, model: SentenceTransformer, output_path: str | None = None, epoch: int = -1,
                 steps: int = -1, *args: Any, **kwargs: Any) -> dict[str, float]:
        where = "" if epoch == -1 else (f" after epoch {epoch}" if steps == -1 else f" in epoch {epoch} after {steps} steps")
        logger.info("LAReQA evaluation on %s%s", self.name, where)
        common = dict(batch_size=self.batch_size, show_progress_bar=self.show_progress_bar, convert_to_numpy=True)
        queries = model.encode_query(list(self.pool.query_texts), **common)
        candidates = model.encode_document(list(self.pool.cand_texts), **common)
        result = evaluate_embeddings(queries, candidates, self.pool, k_values=self.k_values, top_k=self.top_k,
                                     model=getattr(getattr(model, "model_card_data", None), "model_id", None))
        result.name = self.name
        self.last_result = result
        if output_path is not None and self.write_json:
            os.makedirs(output_path, exist_ok=True)
            result.to_json(Path(output_path) / f"{self.name}_results.json")
        metrics = self.prefix_name_to_metrics(result.summary(), self.name)
        self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics

    @property
    def description(self) -> str:
        return "LAReQA Multilingual Retrieval"

    def get_config_dict(self) -> dict[str, Any]:
        return {"pool": self.pool.name, "queries": len(self.pool.query_texts),
                "candidates": len(self.pool.cand_texts), "languages": self.pool.languages}
