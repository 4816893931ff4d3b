"""``ArticleIndex``: which groups share an article, and which passages are the same text.

Language negatives (:mod:`.language_negatives`) take, for a query in language ``L``, passages in ``L`` of
*other* groups of the query's article. The canonical table (``docs/design.md`` section 1) gives every row an
``article``, the same for all rows of a group (checked by ``validate_parallel``, checked again here), so
"the passages of article ``a`` in language ``L``" are the rows in ``L`` of the groups of ``a``: one article
code per group and the groups listed by article suffice, together with the group language masks of
:class:`~hf_hybrid.sampling.GroupIndex`.

Passage texts matter too: one sentence often answers several questions (in the bundled XQuAD-R sample
about half of the rows share their passage with another row of the same language), so "another group" can
still mean "the same sentence", a false negative. Every row therefore gets a code of its passage text
(equal codes = identical text), and a negative whose text is a passage of the batch is never drawn.

Memory: per group one int32 article code and one entry of the by-article list, per article one int64
start, and per *row* one int32 text code (O(rows), unlike the O(groups) batch sampler: built only when
language negatives are asked for). Columns are read and encoded through Arrow, never row by row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .group_index import GroupIndex, popcount

__all__ = ["ArticleIndex"]


def _codes(dataset: Any, column: str) -> tuple[np.ndarray, list[Any]]:
    """Dictionary codes (int64) of a column and its distinct values; an error naming the column on nulls."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if column not in dataset.column_names:
        raise ValueError(f"ArticleIndex: the dataset has no column {column!r} (columns: {dataset.column_names}); "
                         "load it with hf_hybrid.data (which adds `article`), or use language_negatives_from='any'.")
    values = dataset.with_format("arrow")[column]
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if values.null_count:
        raise ValueError(f"ArticleIndex: column {column!r} has {values.null_count} missing values; every row needs "
                         "one (hf_hybrid.data loaders set a missing article to the group id).")
    encoded = pc.dictionary_encode(values)
    return np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64), encoded.dictionary.to_pylist()


@dataclass(frozen=True)
class ArticleIndex:
    """The article of every group, the groups of every article, the passage-text code of every row.

    Attributes:
        group_article: article code of each group (int32), or ``None`` when built without articles.
        by_article: group indices ordered by article code (ties in group order); the groups of article ``a``
            are ``by_article[starts[a]:starts[a + 1]]``.
        starts: int64 offsets into ``by_article``, one per article plus the end.
        text_codes: per dataset row, a code of its passage text (int32; equal codes = identical text).
    """

    group_article: np.ndarray | None
    by_article: np.ndarray | None
    starts: np.ndarray | None
    text_codes: np.ndarray

    @classmethod
    def from_dataset(cls, dataset: Any, index: GroupIndex, article_column: str | None = "article",
                     positive_column: str = "positive") -> ArticleIndex:
        """Build from the canonical dataset that ``index`` was built from (``article_column=None``: texts only).

        Raises:
            ValueError: a missing column, missing values, or a group whose rows name different articles.
        """
        text, _ = _codes(dataset, positive_column)
        n_rows = int(index.offsets[-1] + popcount(index.masks[-1:])[0]) if index.n_groups else 0
        if len(text) != n_rows:
            raise ValueError(f"ArticleIndex: the dataset has {len(text)} rows, its GroupIndex {n_rows}; build both "
                             "from the same dataset.")
        if article_column is None:
            return cls(None, None, None, text.astype(np.int32))
        article, names = _codes(dataset, article_column)
        counts = popcount(index.masks)
        canonical = np.arange(len(article)) if index.row_perm is None else index.row_perm
        per_row = article[canonical]  # articles in canonical order: the rows of each group consecutive
        group_article = per_row[index.offsets]
        bad = np.flatnonzero(per_row != np.repeat(group_article, counts))
        if bad.size:
            g = int(np.searchsorted(index.offsets, bad[0], side="right") - 1)
            name = index.group_ids[g] if index.group_ids is not None else g
            raise ValueError(f"ArticleIndex: the rows of group {name!r} name different articles ("
                             f"{names[group_article[g]]!r} and {names[per_row[bad[0]]]!r}); a group's translations "
                             "belong to one article (docs/design.md section 1).")
        by_article = np.argsort(group_article, kind="stable").astype(np.int64)
        starts = np.searchsorted(group_article[by_article], np.arange(len(names) + 1)).astype(np.int64)
        return cls(group_article.astype(np.int32), by_article, starts, text.astype(np.int32))

    def article_groups(self, group: int) -> np.ndarray:
        """The groups of ``group``'s article (``group`` included), in group order."""
        a = int(self.group_article[group])
        return self.by_article[self.starts[a]:self.starts[a + 1]]
