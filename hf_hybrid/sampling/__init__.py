"""What lands in one batch: hybrid batch sampling over parallel groups.

Contrastive training uses the other pairs of a batch as negatives, so the batch sampler decides the
training signal: ``x-x-mono``, ``x-x``, ``x-y``, ``hybrid`` or ``x-multi`` batches (and language negatives), with
the invariants of
``docs/design.md``, section 2 (no group twice in a global batch, one batch kind per global step on every
rank, languages drawn only among those a group has, determinism per (seed, epoch), exact resume). This
package imports :mod:`hf_hybrid.data` only.

One concept per module: :mod:`.kinds` (the :class:`Strategy` and :class:`BatchKind` vocabulary),
:mod:`.group_index`, :mod:`.cycle_stream`, :mod:`.language_weights`, :mod:`.alpha_schedule`,
:mod:`.eligibility`, :mod:`.plan`, :mod:`.batch_rows`, :mod:`.multi_group`, :mod:`.article_index`,
:mod:`.language_negatives`, :mod:`.sampler_args`, :mod:`.hybrid_sampler`, :mod:`.pair_dataset`.
"""

from __future__ import annotations

from .alpha_schedule import ALPHA_SCHEDULES, AlphaSchedule
from .group_index import GroupIndex
from .hybrid_sampler import HybridBatchSampler
from .kinds import BatchKind, Strategy, batch_kind_of
from .language_negatives import LANGUAGE_NEGATIVE_SOURCES
from .language_weights import LANGUAGE_WEIGHTS
from .pair_dataset import PairDataset

__all__ = [
    "ALPHA_SCHEDULES",
    "LANGUAGE_NEGATIVE_SOURCES",
    "LANGUAGE_WEIGHTS",
    "AlphaSchedule",
    "BatchKind",
    "GroupIndex",
    "HybridBatchSampler",
    "PairDataset",
    "Strategy",
    "batch_kind_of",
]
