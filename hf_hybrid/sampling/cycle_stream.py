"""``CycleStream``: the resumable stream of the groups one batch kind may use, over an epoch permutation.

Every batch kind reads its groups from a circular walk over the epoch's permutation of all groups,
restricted to those it can use (``x-y``: groups with two or more selected languages; ``x-multi``: with
``m`` or more; ``x-x-mono`` in language ``L``: groups that have ``L``; ``docs/design.md``, section 2).
Taking the next ``k`` entries of such a walk gives ``k`` distinct groups (the no-duplicate invariant), its
position is one integer (exact resume), and the restricted list is never materialised (memory O(groups)).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .eligibility import Eligibility
from .group_index import SCAN_CHUNK, popcount
from .kinds import Strategy

__all__ = ["PAIR_STREAM", "CycleStream", "open_streams"]

PAIR_STREAM = -1  # key of the x-x / x-y stream; the x-x-mono streams are keyed by language bit


class CycleStream:
    """Circular walk over an epoch permutation restricted to the groups that satisfy ``accept``.

    Args:
        perm: the epoch's permutation of all group indices.
        masks: the language bitmask of every group (:attr:`~hf_hybrid.sampling.GroupIndex.masks`).
        accept: masks -> boolean array: which groups the stream yields.
        n_hits: how many groups ``accept`` holds for (``>= 1``).

    Why this shape: taking the next ``k`` entries of a circular list of ``n_hits >= k`` distinct groups
    always gives ``k`` distinct groups (the no-duplicate invariant), a position is one integer (cheap
    state, exact resume), and the restricted list is never materialised (memory O(groups), not
    O(groups x languages) for the per-language streams).
    """

    def __init__(self, perm: np.ndarray, masks: np.ndarray, accept: Callable[[np.ndarray], np.ndarray],
                 n_hits: int) -> None:
        self.perm, self.masks, self.accept, self.n_hits = perm, masks, accept, n_hits
        self.n = len(perm)
        self.pos = 0
        self.trivial = n_hits == self.n  # every group qualifies: plain slicing
        density = n_hits / max(self.n, 1)
        self._scan = 1 << 12 if density <= 0 else max(1 << 12, int(4 / density))

    def seek(self, hits: int) -> None:
        """Position the stream after ``hits`` accepted groups from the start of the epoch (O(groups) numpy)."""
        h = hits % self.n_hits
        if self.trivial:
            self.pos = h
            return
        pos = 0
        while True:
            chunk = self.perm[pos:pos + SCAN_CHUNK]
            ok = np.flatnonzero(self.accept(self.masks[chunk]))
            if len(ok) > h:
                self.pos = pos + int(ok[h])
                return
            h -= len(ok)
            pos += SCAN_CHUNK

    def take(self, k: int) -> np.ndarray:
        """The next ``k`` accepted groups (wrapping around the permutation)."""
        parts: list[np.ndarray] = []
        need = k
        while need:
            if self.trivial:
                seg = self.perm[self.pos:self.pos + need]
                parts.append(seg)
                need -= len(seg)
                self.pos += len(seg)
            else:
                size = max(self._scan, int(need * self.n / self.n_hits * 1.3) + 64)
                chunk = self.perm[self.pos:self.pos + size]
                ok = np.flatnonzero(self.accept(self.masks[chunk]))
                if len(ok) >= need:
                    parts.append(chunk[ok[:need]])
                    self.pos += int(ok[need - 1]) + 1
                    need = 0
                else:
                    parts.append(chunk[ok])
                    need -= len(ok)
                    self.pos += len(chunk)
            if self.pos >= self.n:
                self.pos = 0
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


def open_streams(perm: np.ndarray, masks: np.ndarray, subset_bits: int, strategy: Strategy,
                 eligibility: Eligibility, lang_bits: Sequence[int], languages: Sequence[str]
                 ) -> dict[int, CycleStream]:
    """The streams of the batch kinds ``strategy`` draws, at the start of the epoch whose permutation is
    ``perm``: :data:`PAIR_STREAM` for ``x-y`` (groups with two or more languages of ``subset_bits``), ``x-x``
    (groups with one or more) or ``x-multi`` (groups with ``languages_per_group`` or more), and one per
    language bit in ``lang_bits`` for ``x-x-mono``."""
    dt = masks.dtype.type
    sub = dt(subset_bits)
    streams: dict[int, CycleStream] = {}
    if strategy in (Strategy.X_Y, Strategy.HYBRID) and eligibility.n_multi:
        streams[PAIR_STREAM] = CycleStream(perm, masks, lambda m: popcount(m & sub) >= 2, eligibility.n_multi)
    elif strategy == Strategy.X_X:
        streams[PAIR_STREAM] = CycleStream(perm, masks, lambda m: (m & sub) != 0, eligibility.n_any)
    elif strategy == Strategy.X_MULTI:
        need = eligibility.languages_per_group
        streams[PAIR_STREAM] = CycleStream(perm, masks, lambda m: popcount(m & sub) >= need, eligibility.n_x_multi)
    if strategy in (Strategy.X_X_MONO, Strategy.HYBRID):
        for bit in lang_bits:
            one = dt(1) << dt(int(bit))
            streams[int(bit)] = CycleStream(perm, masks, lambda m, one=one: (m & one) != 0,
                                            eligibility.per_language[languages[int(bit)]])
    return streams
