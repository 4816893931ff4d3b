"""One vocabulary for what a batch is: :class:`Strategy` (how batches are drawn) and :class:`BatchKind`.

A *strategy* is the recipe setting (``hybrid``, ``x-x-mono``, ``x-x``, ``x-y``, ``x-multi``); a *batch
kind* is what one batch turned out to be (``mono``, ``cross``, ``x-x``, ``multi``): ``hybrid`` yields
``mono`` and ``cross`` batches. Both are ``str`` enums whose values are the strings of ``docs/design.md``,
section 2, so they compare equal to, and serialise as, the strings that configs, logs, model cards and the
metric use.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Sequence

__all__ = ["BatchKind", "Strategy", "batch_kind_of"]


class Strategy(str, Enum):
    """How the batches of a training run are drawn (``docs/design.md``, section 2)."""

    HYBRID = "hybrid"  #: per global step: an x-x-mono batch with probability alpha, else x-y
    X_X_MONO = "x-x-mono"  #: one language per batch
    X_X = "x-x"  #: every pair monolingual, languages mixed across the batch
    X_Y = "x-y"  #: every pair cross-lingual
    X_MULTI = "x-multi"  #: B/m groups x m languages per batch: every translation of a query's group is a positive

    def __str__(self) -> str:
        return self.value


class BatchKind(str, Enum):
    """What one batch is: the kinds a :class:`~hf_hybrid.sampling.HybridBatchSampler` reports and logs."""

    MONO = "mono"  #: an x-x-mono batch: one language for every query and passage
    CROSS = "cross"  #: an x-y batch: every pair has query language != passage language
    X_X = "x-x"  #: an x-x batch: every pair monolingual, languages mixed across the batch
    MULTI = "multi"  #: an x-multi batch: each group several times (m languages), all its passages positives

    def __str__(self) -> str:
        return self.value


def batch_kind_of(query_langs: Sequence[str | None], passage_langs: Sequence[str | None],
                  group_ids: Sequence[Any] | None = None) -> BatchKind:
    """Classify a batch: ``multi`` if a group occurs more than once (``group_ids``: any hashable ids, or a
    tensor of them), else by its language pairs: ``cross`` if any pair is cross-lingual, else ``mono`` (one
    language) or ``x-x`` (mixed languages, every pair monolingual)."""
    if group_ids is not None:
        ids = group_ids.tolist() if hasattr(group_ids, "tolist") else list(group_ids)
        if len(set(ids)) < len(ids):
            return BatchKind.MULTI
    if any(q != p for q, p in zip(query_langs, passage_langs)):
        return BatchKind.CROSS
    return BatchKind.MONO if len(set(query_langs)) <= 1 else BatchKind.X_X
