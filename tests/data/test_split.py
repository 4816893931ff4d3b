"""hf_hybrid.data.split: language filters and article-level splits."""

from __future__ import annotations

import pytest

from hf_hybrid.data import DataError, filter_languages, load_lareqa, split_by_article


def test_filter_languages(pairs):
    assert filter_languages(pairs, ["en"])["group_id"] == ["g1", "g2"]
    assert filter_languages(pairs, ["en", "de"], min_languages=2)["group_id"] == ["g1", "g1"]


def test_split_by_article_is_seeded_and_disjoint(xquad_sample):
    ds = load_lareqa(xquad_sample, languages=["en", "zh"])
    a_train, a_test = split_by_article(ds, test_size=0.25, seed=3)
    b_train, b_test = split_by_article(ds, test_size=0.25, seed=3)
    assert a_test["group_id"] == b_test["group_id"]
    assert len(set(a_test["article"])) == 3
    assert not set(a_train["article"]) & set(a_test["article"])
    assert not set(a_train["group_id"]) & set(a_test["group_id"])
    assert len(a_train) + len(a_test) == len(ds)


def test_unknown_language_in_filter(xquad_sample, pairs):
    with pytest.raises(DataError, match=r"unknown language\(s\) \['xx'\]; available: \['ar', 'de'"):
        load_lareqa(xquad_sample, languages=["en", "xx"])
    with pytest.raises(DataError, match=r"unknown language\(s\) \['fr'\]"):
        filter_languages(pairs, ["fr"])


def test_nothing_left_after_filtering(pairs):
    with pytest.raises(DataError, match=r"nothing left after keeping languages \['de'\] with at least 2"):
        filter_languages(pairs, ["de"], min_languages=2)


def test_split_leaving_an_empty_side(pairs):
    with pytest.raises(DataError, match=r"takes 2 of 2 article\(s\) and leaves the training side empty"):
        split_by_article(pairs, test_size=2)
    with pytest.raises(DataError, match=r"test_size=1.5"):
        split_by_article(pairs, test_size=1.5)
