"""The per-step plan of an epoch, and the seeded random generators every rank derives alike.

The design's central invariant (``docs/design.md``, section 2) is that every rank uses the same batch
kind, and the same mono language, at the same global step, without communicating. So both are decided
once per epoch, for every global step, from a generator keyed by ``(seed, epoch)``: the *plan*, one byte
of kind code and one language bit per step, O(steps) memory. Each random purpose (the epoch permutation,
the plan, the languages of the pairs of one step) has its own tag in the ``SeedSequence`` spawn key, so
the streams stay independent and a change to one never shifts another.
"""

from __future__ import annotations

import numpy as np

from .alpha_schedule import AlphaSchedule
from .kinds import BatchKind, Strategy

__all__ = ["CROSS", "KIND_OF_CODE", "MONO", "MULTI", "TAG_NEGATIVES", "TAG_PAIRS", "TAG_PERMUTATION", "X_X",
           "plan_epoch", "seeded_rng"]

#: Purposes of the seeded generators (``TAG_NEGATIVES``: the language negatives of a step).
TAG_PERMUTATION, TAG_PLAN, TAG_PAIRS, TAG_NEGATIVES = 1, 2, 3, 4
#: Kind codes of a plan (int8), and the :class:`BatchKind` of each code.
MONO, CROSS, X_X, MULTI = 0, 1, 2, 3
KIND_OF_CODE = (BatchKind.MONO, BatchKind.CROSS, BatchKind.X_X, BatchKind.MULTI)
_FIXED_CODE = {Strategy.X_X_MONO: MONO, Strategy.X_Y: CROSS, Strategy.X_X: X_X, Strategy.X_MULTI: MULTI}


def seeded_rng(seed: int, tag: int, epoch: int = 0, step: int = 0) -> np.random.Generator:
    """The generator of one (seed, purpose, epoch, step): every rank derives the same one, no communication."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(tag, epoch, step))))


def plan_epoch(seed: int, epoch: int, steps_per_epoch: int, strategy: Strategy, schedule: AlphaSchedule,
               lang_bits: np.ndarray, mono_p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kind code (int8) and mono-language bit (int16) of every global step of ``epoch``.

    ``hybrid`` draws an ``x-x-mono`` step with probability ``schedule.value(global step)``, else ``x-y``;
    the other strategies have one kind. The mono language is drawn for every step (also the steps that
    are not mono), so that the plan's random stream does not depend on the strategy.
    """
    n = steps_per_epoch
    rng = seeded_rng(seed, TAG_PLAN, epoch)
    u = rng.random(n)
    langs = lang_bits[rng.choice(len(lang_bits), size=n, p=mono_p)] if n else np.zeros(0, int)
    if strategy in _FIXED_CODE:
        kinds = np.full(n, _FIXED_CODE[strategy], dtype=np.int8)
    else:
        alpha = schedule.values(epoch * n + np.arange(n))
        kinds = np.where(u < alpha, MONO, CROSS).astype(np.int8)
    return kinds, langs.astype(np.int16)
