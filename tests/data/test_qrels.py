"""hf_hybrid.data.qrels: TREC and BEIR qrels files, integer grades, file:line errors."""

from __future__ import annotations

import pytest

from hf_hybrid.data import DataError, read_qrels


def test_trec_and_beir_layouts(tmp_path):
    trec = tmp_path / "qrels.txt"
    trec.write_text("q1 Q0 d1 1\nq1\t0\td2\t0\n\nq2 iter d1 2.0\n", encoding="utf-8")
    assert read_qrels(trec) == {"q1": {"d1": 1, "d2": 0}, "q2": {"d1": 2}}
    beir = tmp_path / "test.tsv"
    beir.write_text("query-id\tcorpus-id\tscore\nq1\tdoc one\t1\nq2\td3\t0\n", encoding="utf-8")
    assert read_qrels(beir) == {"q1": {"doc one": 1}, "q2": {"d3": 0}}      # tabs: ids may hold spaces
    headless = tmp_path / "h.tsv"
    headless.write_text("q1\td1\t1\n", encoding="utf-8")
    assert read_qrels(headless) == {"q1": {"d1": 1}}
    same_twice = tmp_path / "twice.txt"
    same_twice.write_text("q1 0 d1 1\nq1 0 d1 1\n", encoding="utf-8")
    assert read_qrels(same_twice) == {"q1": {"d1": 1}}


@pytest.mark.parametrize("content, message", [
    ("q1 Q0 d1\tx y\n", r":1: expected 4 fields .* got 5"),
    ("q1 Q0 d1 1\nq1\td2\t1\n", r":2: 3 fields, but this file is TREC qrels with 4"),
    ("q1 Q0 d1 1.5\n", r":1: field 'relevance' is '1.5', not an integer grade"),
    ("q1 Q0 d1 d2\n", r":1: field 'relevance' is 'd2', not a number"),
    ("q1 Q0 d1 1\nq1 Q0 d1 0\n", r":2: query 'q1', doc 'd1' is judged 0 here and 1 on an earlier line"),
    ("q1\t\t1\n", r":1: field 'docid' is empty"),
])
def test_errors_name_the_line(tmp_path, content, message):
    path = tmp_path / "qrels.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_qrels(path)


def test_missing_file_and_non_utf8(tmp_path):
    with pytest.raises(DataError, match="qrels file not found"):
        read_qrels(tmp_path / "nope.tsv")
    bad = tmp_path / "latin.txt"
    bad.write_bytes(b"q1 Q0 d\xe9 1\n")
    with pytest.raises(DataError, match=r"latin.txt:1: column 8: not UTF-8 text \(byte 0xe9\)"):
        read_qrels(bad)
