"""hf_hybrid.data.beir: BEIR directories as retrieval pools (and through load_pool)."""

from __future__ import annotations

import json

import pytest

from beir_data import write_beir
from hf_hybrid.data import DataError, is_beir_dir, load_beir_pool, load_pool


def test_load_beir_pool(tmp_path):
    pool = load_beir_pool(write_beir(tmp_path / "beir"))
    assert pool.query_ids == ["q1", "q2"] and pool.query_groups == ["q1", "q2"]
    assert pool.cand_groups == [("q1",), (), ("q2",)]            # score 0 is not relevant
    assert pool.cand_texts[0] == "Paris Paris is in France." and pool.cand_texts[1] == "Berlin."
    assert set(pool.cand_langs) == {"und"}
    assert load_pool(tmp_path / "beir").cand_ids == ["d1", "d2", "d3"]
    with pytest.raises(ValueError, match=r"qrels/dev.tsv not found.*available splits: \['test'\]"):
        load_beir_pool(tmp_path / "beir", split="dev")
    (tmp_path / "beir" / "qrels" / "test.tsv").write_text("q9\td1\t1\n")
    with pytest.raises(ValueError, match="query id"):
        load_beir_pool(tmp_path / "beir")
    with pytest.raises(ValueError, match="not a directory"):
        load_pool(tmp_path / "missing")


def test_is_beir_dir_and_languages(tmp_path):
    root = write_beir(tmp_path / "beir")
    assert is_beir_dir(root) and not is_beir_dir(tmp_path)
    lines = (root / "corpus.jsonl").read_text().splitlines()
    (root / "corpus.jsonl").write_text("\n".join(lines[:2] + [json.dumps({"_id": "d3", "text": "Rom.", "lang": "de"})]))
    pool = load_beir_pool(root)
    assert pool.cand_langs == ["und", "und", "de"] and pool.name == "beir-test"
    assert load_beir_pool(root, languages=["und"]).cand_ids == ["d1", "d2"]
    with pytest.raises(DataError, match=r"no queries left for languages \['de'\]"):
        load_beir_pool(root, languages=["de"])


def test_beir_records_need_an_id(tmp_path):
    root = write_beir(tmp_path / "beir")
    (root / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "a"}) + "\n" + json.dumps({"text": "b"}))
    with pytest.raises(DataError, match=r"queries.jsonl: line 2: expected an object with an '_id' field"):
        load_beir_pool(root)


def test_load_beir_feeds_the_run_path(tmp_path):
    from hf_hybrid.data import load_beir, load_retrieval_data

    root = write_beir(tmp_path / "beir")
    data = load_beir(root)
    assert data.query_ids == ["q1", "q2"] and data.qrels == {"q1": {"d1": 1}, "q2": {"d3": 2, "d1": 0}}
    assert data.doc_ids == ["d1", "d2", "d3"] and data.doc_titles == ["Paris", "", ""]
    assert data.to_pool().cand_groups == load_beir_pool(root).cand_groups          # the same pool either way
    ids = load_retrieval_data(root, corpus="ids")
    assert ids.doc_texts is None and ids.doc_lang_map() == {"d1": "und", "d2": "und", "d3": "und"}
    assert load_beir(root, corpus="none").doc_ids is None
    (root / "qrels" / "test.tsv").write_text("q1\td9\t1\nq2\td3\t1\n")
    assert load_beir(root).qrels == {"q1": {}, "q2": {"d3": 1}}                   # d9 is not in the corpus
