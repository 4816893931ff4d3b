"""hf-hybrid: hybrid batch sampling for multilingual dense retrievers (arXiv 2408.10536).

The public API is importable from here. Submodules load on first use, so ``import hf_hybrid`` stays
fast and light (torch, transformers and sentence-transformers are imported only by what needs them).

- data: :func:`load_parallel_data`, :func:`load_lareqa`, :func:`load_lareqa_pool`, :func:`split_by_article`
- sampling: :class:`HybridBatchSampler`
- model and loss: :class:`DualEncoder`, :class:`InfoNCELoss`, :func:`apply_lora`, :func:`merge_and_export`
- training: :class:`DualEncoderTrainer`, :class:`HybridTrainingArguments`
- evaluation: :func:`evaluate_model`, :func:`evaluate_embeddings`, :class:`RetrievalResult`
- Hub: :func:`push`, :func:`write_model_card`, :class:`LAReQAEvaluator` (sentence-transformers)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # data
    "DataError": "data", "DataSummary": "data", "RetrievalPool": "data", "bundled_sample_path": "data",
    "filter_languages": "data", "load_lareqa": "data", "load_lareqa_pool": "data", "load_pairs": "data",
    "load_parallel_data": "data", "split_by_article": "data", "summarize": "data",
    # sampling
    "HybridBatchSampler": "sampler", "GroupIndex": "sampler", "PairDataset": "sampler",
    # model, loss, LoRA
    "DualEncoder": "model", "DualEncoderConfig": "model", "DualEncoderOutput": "model", "ModelLoadError": "model",
    "InfoNCELoss": "loss", "apply_lora": "lora", "merge_and_export": "lora", "build_demo_encoder": "demo_model",
    # training
    "DualEncoderTrainer": "trainer", "PairCollator": "trainer", "HybridTrainingArguments": "arguments",
    "ModelArguments": "arguments", "DataArguments": "arguments",
    # evaluation
    "RetrievalResult": "evaluation", "evaluate_model": "evaluation", "evaluate_embeddings": "evaluation",
    "evaluate_scores": "evaluation", "load_pool": "evaluation", "load_beir_pool": "evaluation",
    "EmbeddingCache": "evaluation", "model_fingerprint": "evaluation", "compute_retrieval_metrics": "metrics_core",
    # Hub
    "HubError": "hub", "push": "hub", "publish_metric": "hub", "publish_demo": "hub",
    "write_model_card": "hub", "build_model_card": "hub", "resolve_checkpoint": "hub",
    "LAReQAEvaluator": "st_evaluator",
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
    from .arguments import DataArguments, HybridTrainingArguments, ModelArguments
    from .data import (DataError, DataSummary, RetrievalPool, bundled_sample_path, filter_languages, load_lareqa,
                       load_lareqa_pool, load_pairs, load_parallel_data, split_by_article, summarize)
    from .demo_model import build_demo_encoder
    from .evaluation import (EmbeddingCache, RetrievalResult, evaluate_embeddings, evaluate_model, evaluate_scores,
                             load_beir_pool, load_pool, model_fingerprint)
    from .metrics_core import compute_retrieval_metrics
    from .hub import (HubError, build_model_card, publish_demo, publish_metric, push, resolve_checkpoint,
                      write_model_card)
    from .lora import apply_lora, merge_and_export
    from .loss import InfoNCELoss
    from .model import DualEncoder, DualEncoderConfig, DualEncoderOutput, ModelLoadError
    from .sampler import GroupIndex, HybridBatchSampler, PairDataset
    from .st_evaluator import LAReQAEvaluator
    from .trainer import DualEncoderTrainer, PairCollator
