"""Fixtures of the data tests: three canonical rows (two groups, two languages, two articles)."""

from __future__ import annotations

import datasets
import pytest

ROWS = (
    {"group_id": "g1", "lang": "en", "query": "Who?", "positive": "Him.", "article": "A"},
    {"group_id": "g1", "lang": "de", "query": "Wer?", "positive": "Er.", "article": "A"},
    {"group_id": "g2", "lang": "en", "query": "What?", "positive": "That.", "article": "B"},
)


@pytest.fixture
def rows() -> list[dict[str, str]]:
    """The rows as a fresh list of dicts."""
    return [dict(r) for r in ROWS]


@pytest.fixture
def pairs(rows) -> datasets.Dataset:
    """The rows as a canonical dataset."""
    return datasets.Dataset.from_list(rows)
