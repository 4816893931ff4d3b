"""``BatchRows``: the (group, query language, passage language) of every row of one global step.

The sampler decides per global step a batch kind (the plan) and reads the step's groups from that kind's
stream; what remains is the languages of every row (``docs/design.md``, section 2):

* ``mono``: every row in the step's language;
* ``x-x``: one language per row, drawn among the group's selected languages (weights renormalised), the
  same for query and passage;
* ``cross``: the query language drawn that way, the passage language among the group's *other* languages;
* ``multi``: ``m`` rows per group in ``m`` distinct languages, queries rotated against passages
  (:mod:`.multi_group`).

Row languages are drawn from the generator keyed by (seed, epoch, step), so a step's rows depend on
nothing else (invariant 4). Languages are returned as bits; the sampler turns them into dataset rows
(:meth:`~hf_hybrid.sampling.GroupIndex.rows`) and hands them to the language negatives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cycle_stream import PAIR_STREAM, CycleStream
from .group_index import GroupIndex
from .language_weights import draw_languages
from .multi_group import multi_rows
from .plan import MONO, MULTI, TAG_PAIRS, X_X, seeded_rng

__all__ = ["BatchRows"]


@dataclass(frozen=True)
class BatchRows:
    """The row languages of one global step.

    Attributes:
        index: the groups' languages and rows.
        subset: bitmask of the selected languages.
        weights: language weights (one per language bit; 0 = not sampled).
        seed: the sampler's seed.
        groups_per_step: distinct groups of one global batch (``W*B``, or ``W*B / m`` for ``x-multi``).
        languages_per_group: ``x-multi``'s ``m`` (``None`` otherwise).
    """

    index: GroupIndex
    subset: int
    weights: np.ndarray
    seed: int
    groups_per_step: int
    languages_per_group: int | None = None

    def draw(self, epoch: int, step: int, kind: int, lang: int,
             streams: dict[int, CycleStream]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(groups, query_bits, passage_bits)`` of every row of global step ``step``, in batch order.

        For ``mono`` and ``x-x`` the passage bits are the query bits (the same array object).
        """
        if kind == MONO:
            groups = streams[lang].take(self.groups_per_step)
            bits = np.full(len(groups), lang, dtype=np.int64)
            return groups, bits, bits
        groups = streams[PAIR_STREAM].take(self.groups_per_step)
        rng = seeded_rng(self.seed, TAG_PAIRS, epoch, step)
        masks = self.index.masks[groups] & self.index.masks.dtype.type(self.subset)
        if kind == MULTI:
            return multi_rows(groups, masks, self.weights, self.languages_per_group, rng)
        q_bits = draw_languages(masks, self.weights, rng)
        if kind == X_X:
            return groups, q_bits, q_bits
        dt = masks.dtype.type
        others = masks & ~(dt(1) << q_bits.astype(masks.dtype))
        return groups, q_bits, draw_languages(others, self.weights, rng)
