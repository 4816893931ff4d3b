"""Language-targeted hard negatives: for a cross-lingual pair, ``k`` passages in the *query's* language.

Why: in a cross-lingual batch the positive is in another language than the query, and so are most of the
in-batch negatives, so a model can rank the positive first and still prefer same-language passages in a
mixed pool (the language bias that MaxRD measures, ``docs/design.md`` section 3). For a pair (query in
``L``, passage in ``L' != L``) this adds ``k`` passages in ``L`` from *other* questions of the same article:
same language and topic as the query, wrong answer. They travel as the pair's hard negatives
(``PairDataset`` appends their texts to the passage row's ``negatives``) and, like every hard negative, the
loss scores every query of the global batch against them (``docs/design.md`` section 5).

The draw, exactly. Per global step ``s`` of epoch ``e``, from the generator keyed by (seed, epoch, step)
(:data:`~hf_hybrid.sampling.plan.TAG_NEGATIVES`, so it shifts no other random stream), for the pairs with
query language != passage language in batch order, query group ``g``, language ``L``, article ``a``:

* *never*: a group of the global batch (``g`` itself, and every other group whose passage is a positive:
  the negatives are shared by all queries), a passage whose text equals a passage (any selected language)
  of a group of the batch (one sentence often answers several questions), a text already drawn for
  this pair;
* ``language_negatives_from="article"``: first the groups of ``a`` having ``L``, in a random order, those
  whose text no earlier pair of the step drew before those it did (so the pair gets
  ``min(k, distinct allowed texts of the article in L)`` same-article negatives); then, if fewer than ``k``,
  any group having ``L`` (uniform: rejection draws over all groups, an exact scan when those keep missing),
  again texts no earlier pair drew first; ``"any"``: only the latter;
* a pair gets fewer than ``k`` only when the data has no more.

Because the draw depends only on (configuration, seed, epoch, step), a resumed sampler draws the same
negatives (``docs/design.md`` section 2, invariant 4); enabling it changes no batch, only adds negatives.

Example::

    HybridBatchSampler(train, 32, strategy="x-y", language_negatives=2)  # yields (query, passage, negatives)
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .alpha_schedule import AlphaSchedule
from .article_index import ArticleIndex
from .group_index import GroupIndex
from .kinds import Strategy
from .plan import TAG_NEGATIVES, seeded_rng

__all__ = ["LANGUAGE_NEGATIVE_SOURCES", "LanguageNegatives", "check_language_negatives"]

#: Where language negatives come from: the query's article first, or any group.
LANGUAGE_NEGATIVE_SOURCES = ("article", "any")
_REJECTION_ROUNDS = 8


def check_language_negatives(k: Any, source: Any, strategy: Strategy, schedule: AlphaSchedule,
                             languages_per_group: int | None) -> int:
    """``k`` as an int; a ``ValueError`` for a bad ``k`` or source, or for ``k > 0`` with a run that has no
    cross-lingual pair to add them to (``x-x-mono``, ``x-x``, ``x-multi`` with ``m = 1``, ``hybrid`` with
    alpha 1 all along)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"language_negatives={k!r} must be an integer >= 0 (negatives in the query's language "
                         "per cross-lingual pair; 0 = off).")
    if source not in LANGUAGE_NEGATIVE_SOURCES:
        raise ValueError(f"language_negatives_from={source!r} must be one of {list(LANGUAGE_NEGATIVE_SOURCES)}.")
    no_cross = (strategy in (Strategy.X_X_MONO, Strategy.X_X)
                or (strategy == Strategy.X_MULTI and languages_per_group == 1)
                or (strategy == Strategy.HYBRID and schedule.lowest >= 1))
    if k and no_cross:
        detail = {Strategy.X_MULTI: f", languages_per_group={languages_per_group}",
                  Strategy.HYBRID: ", alpha 1 all along"}.get(strategy, "")
        raise ValueError(f"language_negatives={k} adds negatives to cross-lingual pairs, and this run has none "
                         f"(strategy={strategy.value!r}{detail}). Use x-y, hybrid with alpha < 1 or x-multi with "
                         "languages_per_group >= 2, or set language_negatives=0.")
    return int(k)


class LanguageNegatives:
    """Draws the language negatives of a global step (module docstring).

    Args:
        index: the sampler's :class:`GroupIndex`.
        articles: the :class:`ArticleIndex` of the same dataset (with articles for ``source="article"``).
        k: negatives per cross-lingual pair (>= 1).
        source: ``"article"`` or ``"any"``.
        seed: the sampler's seed.
        subset_bits: the selected languages (blocked texts are those of the batch groups in these).
        groups_per_step: distinct groups of a global batch; a language with fewer than ``groups_per_step + k``
            groups may leave a pair short of ``k`` negatives (a ``UserWarning`` names them).
    """

    def __init__(self, index: GroupIndex, articles: ArticleIndex, k: int, source: str, seed: int,
                 subset_bits: int, groups_per_step: int) -> None:
        self.index, self.articles, self.k, self.source, self.seed = index, articles, int(k), source, int(seed)
        self._bits = [b for b in range(len(index.languages)) if subset_bits >> b & 1]
        counts = index.language_counts()
        self._density = np.maximum(counts, 1) / max(index.n_groups, 1)
        short = {index.languages[b]: int(counts[b]) for b in self._bits if counts[b] < groups_per_step + self.k}
        if short:
            warnings.warn(f"HybridBatchSampler: language_negatives={self.k} with {groups_per_step} groups per global "
                          f"batch: these languages have fewer than {groups_per_step + self.k} groups, so a query in "
                          f"them may get fewer negatives: {short}.", UserWarning, stacklevel=4)

    @classmethod
    def from_data(cls, data: Any, index: GroupIndex, k: int, source: str, seed: int, subset_bits: int,
                  groups_per_step: int, article_column: str = "article") -> LanguageNegatives:
        """Build from the sampler's ``data``: the canonical dataset (not a bare :class:`GroupIndex`, which has
        no articles or passages)."""
        if isinstance(data, GroupIndex):
            raise ValueError("HybridBatchSampler: language_negatives needs the dataset (its article and positive "
                             "columns), not a GroupIndex.")
        articles = ArticleIndex.from_dataset(data, index, article_column if source == "article" else None)
        return cls(index, articles, k, source, seed, subset_bits, groups_per_step)

    def draw(self, epoch: int, step: int, groups: np.ndarray, q_bits: np.ndarray,
             p_bits: np.ndarray) -> list[tuple[int, ...]]:
        """Dataset rows of the negatives of every row of one global batch (``()`` for monolingual pairs)."""
        out: list[tuple[int, ...]] = [()] * len(groups)
        cross = np.flatnonzero(np.asarray(q_bits) != np.asarray(p_bits))
        if not len(cross):
            return out
        rng = seeded_rng(self.seed, TAG_NEGATIVES, int(epoch), int(step))
        batch = np.unique(groups)
        blocked = set(self._texts(batch).tolist())
        used: set[int] = set()
        for i in cross.tolist():
            rows = self._pick(int(groups[i]), int(q_bits[i]), batch, blocked, used, rng)
            used.update(int(self.articles.text_codes[r]) for r in rows)
            out[i] = tuple(rows)
        return out

    # ------------------------------------------------------------------ internals

    def _texts(self, groups: np.ndarray) -> np.ndarray:
        """Text codes of every selected-language row of ``groups``."""
        masks, dt = self.index.masks[groups], self.index.masks.dtype.type
        parts = [self.articles.text_codes[self.index.rows(groups[((masks >> dt(b)) & dt(1)) != 0], b)]
                 for b in self._bits]
        return np.concatenate(parts) if parts else np.zeros(0, np.int32)

    def _having(self, candidates: np.ndarray, bit: int, batch: np.ndarray) -> np.ndarray:
        """The candidates having language ``bit`` and outside ``batch`` (sorted unique groups), in their order."""
        dt = self.index.masks.dtype.type
        candidates = candidates[((self.index.masks[candidates] >> dt(bit)) & dt(1)) != 0]
        at = np.minimum(np.searchsorted(batch, candidates), len(batch) - 1)
        return candidates[batch[at] != candidates]

    def _pick(self, group: int, bit: int, batch: np.ndarray, blocked: set[int], used: set[int],
              rng: np.random.Generator) -> list[int]:
        picked: list[int] = []
        texts: set[int] = set()

        def offer(candidates: np.ndarray, avoid: set[int]) -> bool:
            """Take candidates (groups having ``bit``, outside the batch) in order; True once ``k`` are taken."""
            if len(candidates):
                rows = self.index.rows(candidates, bit)
                for row, text in zip(rows.tolist(), self.articles.text_codes[rows].tolist()):
                    if text not in blocked and text not in texts and text not in avoid:
                        picked.append(row)
                        texts.add(text)
                        if len(picked) == self.k:
                            return True
            return len(picked) >= self.k

        if self.source == "article":  # unused texts first, then those earlier pairs drew
            same_article = rng.permutation(self._having(self.articles.article_groups(group), bit, batch))
            if offer(same_article, used) or offer(same_article, set()):
                return picked
        for _ in range(_REJECTION_ROUNDS):  # uniform over the groups having the language, cheaply
            size = min(1 << 20, int((2 * (self.k - len(picked)) + 8) / self._density[bit]))
            drawn = rng.integers(0, self.index.n_groups, size=size)  # repeats: skipped by their text
            if offer(self._having(drawn, bit, batch), used):
                return picked
        everyone = rng.permutation(self._having(np.arange(self.index.n_groups), bit, batch))  # exact, rarely needed
        if not offer(everyone, used):
            offer(everyone, set())  # only texts of earlier pairs are left: reuse them
        return picked
