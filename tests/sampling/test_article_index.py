"""ArticleIndex: the article of every group, the groups of every article, passage-text codes per row."""

from __future__ import annotations

import datasets
import numpy as np
import pytest

from hf_hybrid.sampling import GroupIndex
from hf_hybrid.sampling.article_index import ArticleIndex
from sampling.layouts import make_layout, random_lang_sets


def test_articles_groups_and_text_codes_on_shuffled_rows():
    ds = make_layout(random_lang_sets(30, np.random.default_rng(0)), shuffle_seed=3)  # article = a{g % 5}
    index = GroupIndex.from_dataset(ds)
    assert index.row_perm is not None  # rows are not grouped: the canonical order is exercised
    articles = ArticleIndex.from_dataset(ds, index)
    names = list(index.group_ids)
    for g, name in enumerate(names):
        members = {names[h] for h in articles.article_groups(g).tolist()}
        assert members == {f"g{i}" for i in range(30) if i % 5 == int(name[1:]) % 5}
    assert articles.group_article.dtype == np.int32 and len(articles.starts) == 5 + 1
    positives = list(ds["positive"])  # every text distinct: every code distinct
    assert len(set(articles.text_codes.tolist())) == len(set(positives)) == len(ds)


def test_equal_texts_share_a_code():
    ds = datasets.Dataset.from_list([
        {"group_id": "a", "lang": "en", "positive": "same", "article": "x"},
        {"group_id": "b", "lang": "en", "positive": "same", "article": "x"},
        {"group_id": "b", "lang": "de", "positive": "other", "article": "x"},
    ])
    codes = ArticleIndex.from_dataset(ds, GroupIndex.from_dataset(ds)).text_codes.tolist()
    assert codes[0] == codes[1] != codes[2]
    texts_only = ArticleIndex.from_dataset(ds, GroupIndex.from_dataset(ds), article_column=None)
    assert texts_only.group_article is None and texts_only.text_codes.tolist() == codes


def test_errors_name_the_column_or_group():
    ds = datasets.Dataset.from_list([
        {"group_id": "a", "lang": "en", "positive": "p1", "article": "x"},
        {"group_id": "a", "lang": "de", "positive": "p2", "article": "y"},
    ])
    index = GroupIndex.from_dataset(ds)
    # the canonical order sorts a group's rows by language: de ('y') before en ('x')
    with pytest.raises(ValueError, match=r"the rows of group 'a' name different articles \('y' and 'x'\)"):
        ArticleIndex.from_dataset(ds, index)
    with pytest.raises(ValueError, match=r"no column 'article'.*language_negatives_from='any'"):
        ArticleIndex.from_dataset(ds.remove_columns("article"), index)
    nulls = datasets.Dataset.from_list([{"group_id": "a", "lang": "en", "positive": "p", "article": None},
                                        {"group_id": "b", "lang": "en", "positive": "q", "article": "x"}])
    with pytest.raises(ValueError, match="column 'article' has 1 missing values"):
        ArticleIndex.from_dataset(nulls, GroupIndex.from_dataset(nulls))
    with pytest.raises(ValueError, match="the dataset has 1 rows, its GroupIndex 2"):
        ArticleIndex.from_dataset(ds.select([0]), index)
