"""hf_hybrid.data.summary: the shape of a parallel dataset."""

from __future__ import annotations

import datasets

from hf_hybrid.data import DataSummary, summarize


def test_summary(pairs):
    s = summarize(pairs)
    assert s.groups_per_language == {"de": 1, "en": 2} and s.languages_per_group == {1: 1, 2: 1}
    assert "2 groups, 3 rows, 2 articles" in str(s)


def test_summary_without_article_column_counts_groups_as_articles(rows):
    ds = datasets.Dataset.from_list([{k: v for k, v in r.items() if k != "article"} for r in rows])
    s = summarize(ds)
    assert isinstance(s, DataSummary)
    assert (s.num_rows, s.num_groups, s.num_articles) == (3, 2, 2)
