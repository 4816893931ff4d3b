"""hf_hybrid.data.lareqa: LAReQA directories as canonical pairs and as retrieval pools, and their errors."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from shared_data import shared_dataset
from hf_hybrid.data import DataError, load_lareqa, load_lareqa_pool, split_by_article, summarize


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


# ---------------------------------------------------------------- bad input


def test_malformed_json_names_file_and_line(tmp_path):
    p = _write(tmp_path, "en", '{"data": [\n  {"title": "x",,}\n]}')
    with pytest.raises(DataError, match=rf"{p}: line 2, column \d+: malformed JSON"):
        load_lareqa(tmp_path)


def test_missing_lareqa_field(tmp_path):
    doc = _lareqa_doc([("q1", "First?", 3)])
    del doc["data"][0]["paragraphs"][0]["sentence_breaks"]
    _write(tmp_path, "en", doc)
    with pytest.raises(DataError, match=r"data\[0\]\.paragraphs\[0\]: missing field 'sentence_breaks'"):
        load_lareqa(tmp_path)


def test_duplicate_question_id_in_lareqa(tmp_path):
    _write(tmp_path, "en", _lareqa_doc([("q1", "First?", 3), ("q1", "Again?", 20)]))
    with pytest.raises(DataError, match=r"qas\[1\]: duplicate question id 'q1' in en.json"):
        load_lareqa(tmp_path)


def test_empty_question_text(tmp_path):
    _write(tmp_path / "lq", "en", _lareqa_doc([("q1", " ", 3)]))
    with pytest.raises(DataError, match=r"\(id q1\): empty 'question'"):
        load_lareqa(tmp_path / "lq")


def test_directory_without_language_files(tmp_path):
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(DataError, match=r"no <lang>.json files"):
        load_lareqa(tmp_path)
