"""``x-multi`` batches: every group of a batch in ``m`` languages, so that a query has ``m`` positives.

Why: in an ``x-y`` batch a query has one positive, its answer in one other language; the loss never sees
two translations of one answer side by side, so nothing asks the model to score them alike, which is what
the language bias of a multilingual pool (MaxRD, ``docs/design.md`` section 3) measures. An ``x-multi``
global batch of ``W*B`` rows holds ``W*B/m`` distinct groups, each in ``m`` distinct languages
(``languages_per_group``), and the multi-positive loss (:class:`~hf_hybrid.modeling.InfoNCELoss` given group
ids, ``docs/design.md`` section 5) makes *every* passage of the query's group in the global batch a positive
and every other passage a negative.

The rows of one group, exactly:

1. its languages: ``m`` distinct languages among the group's selected languages, drawn one after another
   without replacement, each draw with the language weights renormalised over the languages left
   (vectorised with Efraimidis-Spirakis keys ``E_l / w_l``, ``E_l`` standard exponential: the ``m`` smallest
   keys, in increasing order, are distributed as ``m`` such successive draws); call them ``l_1 .. l_m``;
2. row ``j`` pairs the passage in ``l_j`` with the query in ``l_(j+1)`` (``l_(m+1) = l_1``): a rotation, so each
   of the ``m`` languages appears once among the group's passages and once among its queries, and for
   ``m >= 2`` every row is cross-lingual. ``m = 1`` gives one monolingual row per group (every group once:
   the loss is then exactly the single-positive InfoNCE).

The ``m`` rows of a group are consecutive and ``m`` must divide ``B``, so every process holds whole groups
(a process's queries find all their positives among the gathered passages either way).

Example::

    HybridBatchSampler(train, 32, strategy="x-multi", languages_per_group=4)  # 8 groups x 4 languages
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .kinds import Strategy

__all__ = ["DEFAULT_LANGUAGES_PER_GROUP", "check_languages_per_group", "draw_distinct_languages", "multi_rows"]

#: ``m`` of ``x-multi`` when none is given.
DEFAULT_LANGUAGES_PER_GROUP = 2


def check_languages_per_group(strategy: Strategy, languages_per_group: Any, batch_size: int) -> int | None:
    """``m`` for ``x-multi`` (default 2), ``None`` for the other strategies; a ``ValueError`` that says what to
    change when ``m`` is not a positive integer dividing ``batch_size``, or is given to another strategy."""
    if strategy != Strategy.X_MULTI:
        if languages_per_group is not None:
            raise ValueError(f"languages_per_group={languages_per_group!r} is only used with strategy='x-multi' "
                             f"(got strategy={strategy.value!r}).")
        return None
    m = DEFAULT_LANGUAGES_PER_GROUP if languages_per_group is None else languages_per_group
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"languages_per_group={m!r} must be a positive integer (the languages, i.e. rows, of each "
                         "group in an x-multi batch).")
    if batch_size % m:
        raise ValueError(f"strategy='x-multi': languages_per_group={m} must divide the per-process batch size "
                         f"{batch_size} (each process holds batch_size / m whole groups); choose a batch size that "
                         f"is a multiple of {m}.")
    return int(m)


def draw_distinct_languages(masks: np.ndarray, weights: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """``[len(masks), m]`` language bits: per mask, ``m`` distinct set bits of positive weight, drawn without
    replacement with ``weights`` renormalised over the bits left, in draw order.

    Every mask must have at least ``m`` set bits of positive weight (the ``x-multi`` stream's groups do).
    """
    shifts = np.arange(len(weights), dtype=masks.dtype)
    has = ((masks[:, None] >> shifts[None, :]) & masks.dtype.type(1)).astype(bool) & (weights > 0)[None, :]
    keys = rng.exponential(size=has.shape) / np.where(weights > 0, weights, 1.0)[None, :]
    keys[~has] = np.inf
    return np.argsort(keys, axis=1, kind="stable")[:, :m]


def multi_rows(groups: np.ndarray, masks: np.ndarray, weights: np.ndarray, m: int,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``len(groups) * m`` rows of one ``x-multi`` global batch as (group, query bit, passage bit) arrays,
    each group's ``m`` rows consecutive (module docstring: passage in ``l_j``, query in ``l_(j+1)``).

    ``masks`` are the groups' language masks restricted to the selected languages.
    """
    langs = draw_distinct_languages(masks, weights, m, rng)
    return np.repeat(groups, m), np.roll(langs, -1, axis=1).reshape(-1), langs.reshape(-1)
