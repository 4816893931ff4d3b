"""Tests for hf_hybrid/data.py: loaders, splits, filters, summary and error messages."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import datasets
import pytest

from conftest import shared_dataset
from hf_hybrid.data import (
    DataError,
    RetrievalPool,
    filter_languages,
    load_lareqa,
    load_lareqa_pool,
    load_pairs,
    load_parallel_data,
    split_by_article,
    summarize,
)

XQUAD_LANGS = ["ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"]
MLQA_COUNTS = {"ar": 517, "de": 512, "en": 1148, "es": 500, "hi": 507, "vi": 511, "zh": 504}


def _lareqa_doc(questions: list[tuple[str, str, int]], title: str = "T") -> dict:
    """One article, one paragraph of two sentences; questions are (id, text, answer_start)."""
    ctx = "Alpha is first. Beta is second."
    return {"version": "1", "data": [{"title": title, "paragraphs": [{
        "context": ctx, "sentences": ["Alpha is first.", "Beta is second."],
        "sentence_breaks": [[0, 15], [16, 31]],
        "qas": [{"id": i, "question": q, "answers": [{"answer_start": s, "text": "x"}]} for i, q, s in questions],
    }]}]}


def _write(dirpath: Path, lang: str, doc) -> Path:
    dirpath.mkdir(parents=True, exist_ok=True)
    p = dirpath / f"{lang}.json"
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return p


# ---------------------------------------------------------------- real files


def test_xquad_r_counts():
    ds = load_lareqa(shared_dataset("xquad-r"))
    assert Counter(ds["lang"]) == {l: 1190 for l in XQUAD_LANGS}
    assert set(ds.column_names) == {"group_id", "lang", "query", "positive", "article"}
    assert len(set(ds["article"])) == 48


def test_mlqa_r_counts_and_partial_coverage():
    ds = load_lareqa(shared_dataset("mlqa-r"))
    assert Counter(ds["lang"]) == MLQA_COUNTS
    s = summarize(ds)
    assert s.groups_per_language == MLQA_COUNTS
    assert set(s.languages_per_group) <= {2, 3, 4}
    assert sum(k * v for k, v in s.languages_per_group.items()) == len(ds)
    # one article key per group, so splits keep translations together
    per_group = {}
    for g, a in zip(ds["group_id"], ds["article"]):
        assert per_group.setdefault(g, a) == a


def test_bundled_sample(xquad_sample):
    ds = load_parallel_data("bundled")
    s = summarize(ds)
    assert sorted(s.groups_per_language) == XQUAD_LANGS
    assert s.num_articles == 12 and s.languages_per_group == {11: s.num_groups}
    assert (xquad_sample / "LICENSE").is_file()
    assert "CC BY-SA 4.0" in (xquad_sample / "README.md").read_text()


def test_answer_sentence_is_the_positive(tmp_path):
    _write(tmp_path, "en", _lareqa_doc([("q1", "First?", 3), ("q2", "Second?", 20), ("q3", "Gap?", 15)]))
    ds = load_lareqa(tmp_path)
    assert dict(zip(ds["group_id"], ds["positive"])) == {
        "q1": "Alpha is first.", "q2": "Beta is second.", "q3": "Alpha is first."}
    ctx = load_lareqa(tmp_path, context=True)
    assert ctx[0]["positive"] == "Alpha is first.\nAlpha is first. Beta is second."


def test_pool_candidates_answer_several_groups(tmp_path):
    _write(tmp_path, "en", _lareqa_doc([("q1", "First?", 3), ("q2", "Also first?", 5)]))
    _write(tmp_path, "de", _lareqa_doc([("q1", "Erste?", 3), ("q2", "Zweite?", 20)]))
    pool = load_lareqa_pool(tmp_path)
    assert len(pool.query_ids) == 4 and len(pool.cand_ids) == 4
    groups = dict(zip(pool.cand_ids, pool.cand_groups))
    assert groups == {"de/0/0/0": ("q1",), "de/0/0/1": ("q2",), "en/0/0/0": ("q1", "q2"), "en/0/0/1": ()}


def test_pool_article_selection_matches_split(xquad_sample):
    ds = load_lareqa(xquad_sample, languages=["en", "de"])
    train, test = split_by_article(ds, test_size=3, seed=1)
    pool = load_lareqa_pool(xquad_sample, languages=["en", "de"], articles=set(test["article"]))
    assert sorted(pool.query_groups) == sorted(test["group_id"])
    assert pool.meta["articles"] == sorted(set(test["article"]))
    assert not set(pool.query_groups) & set(train["group_id"])
    assert set(pool.cand_langs) == {"en", "de"}


def test_pool_from_pairs():
    ds = datasets.Dataset.from_list([
        {"group_id": "a", "lang": "en", "query": "q", "positive": "p"},
        {"group_id": "a", "lang": "de", "query": "q2", "positive": "p2"}])
    pool = RetrievalPool.from_pairs(ds)
    assert pool.query_groups == ["a", "a"] and pool.cand_groups == [("a",), ("a",)]
    assert pool.select_languages(["de"]).cand_texts == ["p2"]


# ---------------------------------------------------------------- files and datasets


ROWS = [
    {"group_id": "g1", "lang": "en", "query": "Who?", "positive": "Him.", "article": "A"},
    {"group_id": "g1", "lang": "de", "query": "Wer?", "positive": "Er.", "article": "A"},
    {"group_id": "g2", "lang": "en", "query": "What?", "positive": "That.", "article": "B"},
]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "csv"])
def test_table_files_round_trip(tmp_path, fmt):
    ds = datasets.Dataset.from_list(ROWS)
    path = tmp_path / f"pairs.{fmt}"
    if fmt == "jsonl":
        path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    elif fmt == "parquet":
        ds.to_parquet(str(path))
    else:
        ds.to_csv(str(path), index=False)
    out = load_pairs(path)
    assert out.to_list() == ROWS


def test_column_mapping_and_negatives():
    src = datasets.Dataset.from_list([
        {"qid": 1, "language": "en", "question": "Q", "answer": "A", "hard": ["n1", "n2"]}])
    out = load_pairs(src, column_mapping={"qid": "group_id", "language": "lang", "question": "query",
                                          "answer": "positive", "hard": "negatives"})
    assert out[0] == {"group_id": "1", "lang": "en", "query": "Q", "positive": "A", "negatives": ["n1", "n2"],
                      "article": "1"}


def test_filter_and_summary():
    ds = datasets.Dataset.from_list(ROWS)
    assert filter_languages(ds, ["en"])["group_id"] == ["g1", "g2"]
    assert filter_languages(ds, ["en", "de"], min_languages=2)["group_id"] == ["g1", "g1"]
    s = summarize(ds)
    assert s.groups_per_language == {"de": 1, "en": 2} and s.languages_per_group == {1: 1, 2: 1}
    assert "2 groups, 3 rows, 2 articles" in str(s)


def test_split_by_article_is_seeded_and_disjoint(xquad_sample):
    ds = load_lareqa(xquad_sample, languages=["en", "zh"])
    a_train, a_test = split_by_article(ds, test_size=0.25, seed=3)
    b_train, b_test = split_by_article(ds, test_size=0.25, seed=3)
    assert a_test["group_id"] == b_test["group_id"]
    assert len(set(a_test["article"])) == 3
    assert not set(a_train["article"]) & set(a_test["article"])
    assert not set(a_train["group_id"]) & set(a_test["group_id"])
    assert len(a_train) + len(a_test) == len(ds)


# ---------------------------------------------------------------- bad input


def test_malformed_json_names_file_and_line(tmp_path):
    p = _write(tmp_path, "en", '{"data": [\n  {"title": "x",,}\n]}')
    with pytest.raises(DataError, match=rf"{p}: line 2, column \d+: malformed JSON"):
        load_lareqa(tmp_path)


def test_malformed_jsonl_names_line(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text(json.dumps(ROWS[0]) + "\n{oops\n")
    with pytest.raises(DataError, match=r"x.jsonl: line 2, column 2: malformed JSON"):
        load_pairs(p)


def test_missing_lareqa_field(tmp_path):
    doc = _lareqa_doc([("q1", "First?", 3)])
    del doc["data"][0]["paragraphs"][0]["sentence_breaks"]
    _write(tmp_path, "en", doc)
    with pytest.raises(DataError, match=r"data\[0\]\.paragraphs\[0\]: missing field 'sentence_breaks'"):
        load_lareqa(tmp_path)


def test_missing_columns(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text(json.dumps({"group_id": "1", "lang": "en", "question": "Q", "positive": "A"}) + "\n")
    with pytest.raises(DataError, match=r"missing column\(s\) \['query'\].*column_mapping"):
        load_pairs(p)


def test_duplicate_group_language(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in [ROWS[0], ROWS[2], ROWS[0]]) + "\n")
    with pytest.raises(DataError, match=r"x.jsonl: row 3: duplicate \(group_id, lang\) = \('g1', 'en'\), "
                                        r"first seen at row 1"):
        load_pairs(p)


def test_duplicate_question_id_in_lareqa(tmp_path):
    _write(tmp_path, "en", _lareqa_doc([("q1", "First?", 3), ("q1", "Again?", 20)]))
    with pytest.raises(DataError, match=r"qas\[1\]: duplicate question id 'q1' in en.json"):
        load_lareqa(tmp_path)


def test_empty_text(tmp_path):
    p = tmp_path / "x.csv"
    datasets.Dataset.from_list([ROWS[0], {**ROWS[2], "positive": "  "}]).to_csv(str(p), index=False)
    with pytest.raises(DataError, match=r"x.csv: line 3: empty 'positive'"):
        load_pairs(p)
    _write(tmp_path / "lq", "en", _lareqa_doc([("q1", " ", 3)]))
    with pytest.raises(DataError, match=r"\(id q1\): empty 'question'"):
        load_lareqa(tmp_path / "lq")


def test_unknown_language_in_filter(xquad_sample):
    with pytest.raises(DataError, match=r"unknown language\(s\) \['xx'\]; available: \['ar', 'de'"):
        load_lareqa(xquad_sample, languages=["en", "xx"])
    with pytest.raises(DataError, match=r"unknown language\(s\) \['fr'\]"):
        filter_languages(datasets.Dataset.from_list(ROWS), ["fr"])


def test_nothing_left_after_filtering():
    with pytest.raises(DataError, match=r"nothing left after keeping languages \['de'\] with at least 2"):
        filter_languages(datasets.Dataset.from_list(ROWS), ["de"], min_languages=2)


def test_split_leaving_an_empty_side():
    ds = datasets.Dataset.from_list(ROWS)
    with pytest.raises(DataError, match=r"takes 2 of 2 article\(s\) and leaves the training side empty"):
        split_by_article(ds, test_size=2)
    with pytest.raises(DataError, match=r"test_size=1.5"):
        split_by_article(ds, test_size=1.5)


def test_unsupported_file_and_missing_dir(tmp_path):
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(DataError, match=r"unsupported file type '.txt'"):
        load_pairs(tmp_path / "x.txt")
    with pytest.raises(DataError, match=r"no <lang>.json files"):
        load_lareqa(tmp_path)
