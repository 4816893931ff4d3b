"""``PairDataset``: a ``(query_row, passage_row)`` pair of the sampler -> one training example.

:class:`~hf_hybrid.sampling.HybridBatchSampler` yields pairs of row indices into the canonical dataset
(``docs/design.md``, section 1): the query of one (group, language) and the passage of the same group in
the same (``x-x``) or another (``x-y``) language. This map-style dataset reads them with batched Arrow
reads (``__getitems__``, used by torch's ``DataLoader``) instead of one row lookup per pair.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

__all__ = ["PairDataset"]


class PairDataset(torch.utils.data.Dataset):
    """Map-style view of the canonical dataset indexed by ``(query_row, passage_row)`` pairs.

    The sampler yields row pairs; this turns them into training examples with batched Arrow reads
    (``__getitems__``, used by torch's DataLoader), instead of one row lookup per pair.

    An example: ``{"query", "positive", "negatives", "query_lang", "passage_lang", "group_id"}``; query
    fields come from the query row, passage fields (positive, negatives, passage_lang) from the passage row.
    """

    def __init__(self, dataset: Any, *, query_column: str = "query", positive_column: str = "positive",
                 negatives_column: str = "negatives", lang_column: str = "lang",
                 group_column: str = "group_id") -> None:
        names = list(dataset.column_names)
        for column in (query_column, positive_column, lang_column, group_column):
            if column not in names:
                raise ValueError(f"PairDataset: the dataset has no column {column!r} (columns: {names}).")
        self.dataset = dataset
        self._cols = (query_column, positive_column, negatives_column, lang_column, group_column)
        self._has_negatives = negatives_column in names
        self._queries = dataset.select_columns([query_column, lang_column, group_column])
        self._passages = dataset.select_columns(
            [positive_column, lang_column] + ([negatives_column] if self._has_negatives else []))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, pair: tuple[int, int]) -> dict[str, Any]:
        return self.__getitems__([pair])[0]

    def __getitems__(self, pairs: Sequence[tuple[int, int]]) -> list[dict[str, Any]]:
        query_column, positive_column, negatives_column, lang_column, group_column = self._cols
        q_idx = [int(q) for q, _ in pairs]
        p_idx = [int(p) for _, p in pairs]
        q = self._queries[q_idx]
        p = self._passages[p_idx]
        negatives = p[negatives_column] if self._has_negatives else [[] for _ in pairs]
        return [
            {
                "query": q[query_column][i],
                "positive": p[positive_column][i],
                "negatives": list(negatives[i] or []),
                "query_lang": q[lang_column][i],
                "passage_lang": p[lang_column][i],
                "group_id": q[group_column][i],
            }
            for i in range(len(pairs))
        ]
