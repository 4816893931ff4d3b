"""Run and the TREC run file: exact round trip, the ranx form, and file:line errors for malformed lines."""

from __future__ import annotations

import numpy as np
import pytest

from hf_hybrid.data.errors import DataError
from hf_hybrid.retrieval.run_file import Run, read_trec_run, write_trec_run


def _run() -> Run:
    scores = [float(np.float32(0.8123457)), 0.1 + 0.2, 0.1 + 0.2, -1e-30, -7.5]
    return Run(["q1", "q-2", "ü3"], [["d1", "d2", "d3", "d4", "d5"], ["d9"], []],
               [scores, [1 / 3], []], name="my-run")


def test_roundtrip_is_exact(tmp_path):
    run = _run()
    path = write_trec_run(run, tmp_path / "sub" / "run.trec")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "q1 Q0 d1 1 0.8123456835746765 my-run"
    assert lines[5] == "q-2 Q0 d9 1 0.3333333333333333 my-run"
    assert len(lines) == 6  # the query without candidates has no line
    back = read_trec_run(path)
    assert back == Run(run.query_ids[:2], run.doc_ids[:2], run.scores[:2], "my-run")
    assert back.scores[0] == run.scores[0]  # bit-identical floats
    assert not list(tmp_path.glob("sub/.*tmp*"))


def test_to_dict_len_top():
    run = _run()
    assert len(run) == 3
    assert run.to_dict()["q-2"] == {"d9": 1 / 3}
    assert list(run.to_dict()["q1"]) == ["d1", "d2", "d3", "d4", "d5"]
    assert run.top(2).doc_ids == [["d1", "d2"], ["d9"], []]


def test_ranx_reads_the_file(tmp_path):
    ranx = pytest.importorskip("ranx")
    run = Run(["q1", "q2"], [["a", "b"], ["c"]], [[2.0, 1.5], [0.25]])
    path = write_trec_run(run, tmp_path / "run.trec")
    assert ranx.Run.from_file(str(path), kind="trec").to_dict() == run.to_dict()


def test_shape_mismatch():
    with pytest.raises(ValueError, match="2 query_ids, 1 doc_ids lists and 1 scores lists"):
        Run(["a", "b"], [["x"]], [[1.0]])
    with pytest.raises(ValueError, match="query 'a' has 2 doc ids but 1 scores"):
        Run(["a"], [["x", "y"]], [[1.0]])


@pytest.mark.parametrize("run, message", [
    (Run(["q 1"], [["d"]], [[1.0]]), "query id 'q 1' is empty or holds whitespace"),
    (Run(["q"], [["d\t2"]], [[1.0]]), "query 'q', rank 1: doc id 'd\\\\t2' is empty or holds whitespace"),
    (Run(["q"], [[""]], [[1.0]]), "doc id '' is empty"),
    (Run(["q"], [["d"]], [[1.0]], name="my run"), "the run tag \\(Run.name\\) 'my run'"),
    (Run(["q"], [["d", "e"]], [[1.0, 2.0]]), "rank 2: score 2.0 is higher than the previous rank's 1.0"),
    (Run(["q"], [["d", "d"]], [[1.0, 1.0]]), "rank 2: doc id 'd' appears twice"),
    (Run(["q"], [["d"]], [[float("nan")]]), "score nan is not finite"),
    (Run(["q", "q"], [["d"], ["e"]], [[1.0], [1.0]]), "query 'q' appears twice"),
])
def test_write_refuses(tmp_path, run, message):
    path = tmp_path / "run.trec"
    with pytest.raises(DataError, match=message):
        write_trec_run(run, path)
    assert not path.exists()


@pytest.mark.parametrize("body, line, message", [
    ("q1 Q0 d1 1 0.5 t\nq1 Q0 d2 2 0.4\n", 2, "expected 6 fields 'qid Q0 docid rank score tag', got 5"),
    ("q1 Q0 d1 one 0.5 t\n", 1, "field 'rank' is 'one', not an integer"),
    ("q1 Q0 d1 1 0.5 t\nq1 Q0 d2 2 high t\n", 2, "field 'score' is 'high', not a number"),
    ("q1 Q0 d1 1 nan t\n", 1, "field 'score' is 'nan', not a finite number"),
    ("q1 Q0 d1 1 0.5 t\n\nq1 Q0 d1 2 0.4 t\n", 3, "doc 'd1' appears twice for query 'q1'"),
    ("q1 Q0 d1 2 0.5 t\nq1 Q0 d2 1 0.6 t\n", 2, "rank 1 of query 'q1' is out of order .*previous line of this "
                                                "query has rank 2"),
    ("q1 Q0 d1 1 0.5 t\nq1 Q0 d2 1 0.4 t\n", 2, "rank 1 of query 'q1' is out of order"),
    ("q1 Q0 d1 1 0.5 t\nq1 Q0 d2 2 0.6 t\n", 2, "score 0.6 of query 'q1' at rank 2 is higher than the previous "
                                                "rank's 0.5"),
])
def test_read_errors_name_file_and_line(tmp_path, body, line, message):
    path = tmp_path / "bad.trec"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(DataError, match=f"^{path}:{line}: {message}"):
        read_trec_run(path)


def test_read_interleaved_queries_and_other_tools_files(tmp_path):
    path = tmp_path / "run.txt"
    path.write_text("q2 0 a 0 3 bm25\nq1 Q0 x 1 2.5 bm25\n\nq2 0 b 5 3 bm25\n", encoding="utf-8")
    run = read_trec_run(path)
    assert run == Run(["q2", "q1"], [["a", "b"], ["x"]], [[3.0, 3.0], [2.5]], "bm25")
    empty = tmp_path / "empty.trec"
    empty.write_text("", encoding="utf-8")
    assert read_trec_run(empty) == Run([], [], [])
