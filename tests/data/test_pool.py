"""hf_hybrid.data.pool: RetrievalPool."""

from __future__ import annotations

import datasets
import pytest

from hf_hybrid.data import DataError, RetrievalPool


def test_pool_from_pairs():
    ds = datasets.Dataset.from_list([
        {"group_id": "a", "lang": "en", "query": "q", "positive": "p"},
        {"group_id": "a", "lang": "de", "query": "q2", "positive": "p2"}])
    pool = RetrievalPool.from_pairs(ds)
    assert pool.query_groups == ["a", "a"] and pool.cand_groups == [("a",), ("a",)]
    assert pool.select_languages(["de"]).cand_texts == ["p2"]


def test_pool_fields_must_have_one_entry_per_item():
    with pytest.raises(DataError, match=r"RetrievalPool 'p': query fields have lengths \[1, 2\]"):
        RetrievalPool(["q1", "q2"], ["g"], ["en"], ["q"], ["c"], [("g",)], ["en"], ["c"], name="p")


def test_select_unknown_language():
    pool = RetrievalPool(["q"], ["g"], ["en"], ["q"], ["c"], [("g",)], ["en"], ["c"], name="p")
    assert pool.languages == ["en"]
    with pytest.raises(DataError, match=r"pool 'p': unknown language\(s\) \['de'\]"):
        pool.select_languages(["de"])
