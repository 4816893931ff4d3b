"""``PairDataset``: a ``(query_row, passage_row)`` pair of the sampler -> one training example.

:class:`~hf_hybrid.sampling.HybridBatchSampler` yields pairs of row indices into the canonical dataset
(``docs/design.md``, section 1): the query of one (group, language) and the passage of the same group in
the same (``x-x``) or another (``x-y``) language, and, with language negatives, a third element: the rows
whose ``positive`` passages are the pair's negatives in the query's language
(:mod:`~hf_hybrid.sampling.language_negatives`). This map-style dataset reads them with batched Arrow reads
(``__getitems__``, used by torch's ``DataLoader``) instead of one row lookup per pair.
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
    fields come from the query row, passage fields (positive, negatives, passage_lang) from the passage row;
    an item ``(query_row, passage_row, negative_rows)`` appends the ``positive`` of each negative row to
    ``negatives`` (after the passage row's own).
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
        self._positives = dataset.select_columns([positive_column])

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, pair: tuple) -> dict[str, Any]:
        return self.__getitems__([pair])[0]

    def __getitems__(self, pairs: Sequence[tuple]) -> list[dict[str, Any]]:
        query_column, positive_column, negatives_column, lang_column, group_column = self._cols
        q_idx = [int(item[0]) for item in pairs]
        p_idx = [int(item[1]) for item in pairs]
        q = self._queries[q_idx]
        p = self._passages[p_idx]
        negatives = [list(n or []) for n in p[negatives_column]] if self._has_negatives else [[] for _ in pairs]
        extra = [int(r) for item in pairs if len(item) > 2 for r in item[2]]
        if extra:  # language negatives: one batched read of their passages
            texts = iter(self._positives[extra][positive_column])
            for i, item in enumerate(pairs):
                negatives[i] += [next(texts) for _ in (item[2] if len(item) > 2 else ())]
        return [
            {
                "query": q[query_column][i],
                "positive": p[positive_column][i],
                "negatives": negatives[i],
                "query_lang": q[lang_column][i],
                "passage_lang": p[lang_column][i],
                "group_id": q[group_column][i],
            }
            for i in range(len(pairs))
        ]
