"""Which groups each batch kind may use, and whether there are enough of them for one global batch.

A global batch holds ``num_replicas x batch_size`` *distinct* groups (``docs/design.md``, section 2; ``x-multi``:
``num_replicas x batch_size / m``), so before any batch is drawn the sampler counts, in O(groups) numpy work,
the groups each kind can use: ``x-x`` batches need a selected language, ``x-y`` batches two or more,
``x-x-mono`` batches in language ``L`` need ``L``, ``x-multi`` batches ``m`` (``languages_per_group``) or
more. A configuration that cannot fill a global batch fails here, with the numbers and what to change,
instead of looping or repeating groups later.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .alpha_schedule import AlphaSchedule
from .group_index import SCAN_CHUNK, GroupIndex, popcount
from .kinds import Strategy

__all__ = ["Eligibility", "check_eligibility"]


@dataclass(frozen=True)
class Eligibility:
    """How many groups each batch kind can draw from.

    Attributes:
        n_any: groups having at least one selected language (``x-x``).
        n_multi: groups having two or more selected languages (``x-y``).
        per_language: groups having each selected language (``x-x-mono``).
        languages_per_group: ``x-multi``'s ``m`` (rows per group in a batch), else ``None``.
        n_x_multi: groups having ``m`` or more selected languages (``x-multi``; 0 without ``m``).
    """

    n_any: int
    n_multi: int
    per_language: dict[str, int]
    languages_per_group: int | None = None
    n_x_multi: int = 0

    @classmethod
    def count(cls, index: GroupIndex, languages: Sequence[str], language_counts: np.ndarray,
              languages_per_group: int | None = None) -> Eligibility:
        """Count, in O(groups) chunked numpy work, the groups of ``index`` each kind can use among
        ``languages``; ``language_counts`` is :meth:`GroupIndex.language_counts` (computed once by the caller)."""
        subset = index.bits(languages)
        n_any, n_multi = index.eligibility_counts(subset)
        n_x_multi = 0
        if languages_per_group is not None:
            sub = index.masks.dtype.type(subset)
            n_x_multi = sum(int(np.count_nonzero(popcount(index.masks[i:i + SCAN_CHUNK] & sub) >= languages_per_group))
                            for i in range(0, index.n_groups, SCAN_CHUNK))
        return cls(n_any, n_multi, {lang: int(language_counts[index.language_bit(lang)]) for lang in languages},
                   languages_per_group, n_x_multi)

    @property
    def n_single(self) -> int:
        """Groups with a single selected language: never in an ``x-y`` batch."""
        return self.n_any - self.n_multi

    def groups_per_step(self, strategy: Strategy, global_batch_size: int) -> int:
        """Distinct groups of one global batch: ``W*B``, or ``W*B / m`` for ``x-multi`` (m rows per group)."""
        return global_batch_size // self.languages_per_group if strategy == Strategy.X_MULTI else global_batch_size

    def steps_per_epoch(self, strategy: Strategy, global_batch_size: int, drop_last: bool) -> int:
        """Global steps of one epoch: the eligible groups over the groups of a global batch, rounded down or up."""
        n = {Strategy.X_Y: self.n_multi, Strategy.X_MULTI: self.n_x_multi}.get(strategy, self.n_any)
        per_step = self.groups_per_step(strategy, global_batch_size)
        return n // per_step if drop_last else math.ceil(n / per_step)


def check_eligibility(eligibility: Eligibility, strategy: Strategy, schedule: AlphaSchedule,
                      languages: tuple[str, ...], batch_size: int, num_replicas: int) -> None:
    """Raise if a batch kind the run will draw cannot fill a global batch; warn about skipped groups.

    Only the kinds the run uses count: ``hybrid`` with alpha 0 all along never draws ``x-x-mono``
    batches, so a language with few groups is no obstacle there.

    Raises:
        ValueError: no group has two selected languages but ``x-y`` batches are needed, or a kind has
            fewer groups than a global batch.
    """
    n_any, n_multi = eligibility.n_any, eligibility.n_multi
    uses_mono = strategy == Strategy.X_X_MONO or (strategy == Strategy.HYBRID and schedule.highest > 0)
    uses_cross = strategy == Strategy.X_Y or (strategy == Strategy.HYBRID and schedule.lowest < 1)
    gb = batch_size * num_replicas
    where = f"(batch_size={batch_size} x num_replicas={num_replicas} = {gb} distinct groups per global step)"
    if uses_cross:
        if n_multi == 0:
            raise ValueError(
                f"HybridBatchSampler: strategy={strategy.value!r} needs cross-lingual (x-y) batches, but no group "
                f"has two or more of the languages {list(languages)}; all {n_any} groups have a single one. "
                "Use strategy='x-x' or 'x-x-mono', or select more languages."
            )
        if eligibility.n_single:
            warnings.warn(
                f"HybridBatchSampler: {eligibility.n_single} of {n_any} groups have a single language among "
                f"{list(languages)} and are skipped for x-y (cross-lingual) batches"
                + (" (hybrid still uses them in x-x-mono batches)." if strategy == Strategy.HYBRID else "."),
                UserWarning, stacklevel=3,  # point at the code that builds the sampler
            )
        if n_multi < gb:
            raise ValueError(
                f"HybridBatchSampler: only {n_multi} groups have two or more languages, fewer than a global "
                f"batch needs {where}. Lower batch_size or use more data."
            )
    if uses_mono:
        short = {lang: c for lang, c in eligibility.per_language.items() if c < gb}
        if short:
            listing = ", ".join(f"{lang!r}: {c}" for lang, c in sorted(short.items()))
            raise ValueError(
                f"HybridBatchSampler: x-x-mono batches need {gb} distinct groups in one language {where}, "
                f"but these languages have fewer groups: {{{listing}}}. Lower batch_size, or leave these "
                "languages out (languages=[...] or a weight of 0 in language_weights)."
            )
    if strategy == Strategy.X_MULTI:
        _check_x_multi(eligibility, languages, batch_size, num_replicas)
    if strategy == Strategy.X_X and n_any < gb:
        raise ValueError(f"HybridBatchSampler: only {n_any} groups have a selected language, fewer than a "
                         f"global batch needs {where}. Lower batch_size or use more data.")


def _check_x_multi(eligibility: Eligibility, languages: tuple[str, ...], batch_size: int, num_replicas: int) -> None:
    m, n = eligibility.languages_per_group, eligibility.n_x_multi
    need = batch_size * num_replicas // m
    if n < need:
        raise ValueError(
            f"HybridBatchSampler: x-multi batches need {need} distinct groups with {m} or more of the languages "
            f"{list(languages)} per global step (batch_size={batch_size} x num_replicas={num_replicas} rows = "
            f"{need} groups x languages_per_group={m}), but only {n} groups have {m}. Lower batch_size or "
            "languages_per_group, or select more languages.")
    if n < eligibility.n_any:
        warnings.warn(f"HybridBatchSampler: {eligibility.n_any - n} of {eligibility.n_any} groups have fewer than "
                      f"languages_per_group={m} of {list(languages)} and are skipped for x-multi batches.",
                      UserWarning, stacklevel=4)
