"""hf_hybrid.data.jsonl: the one JSONL reader (errors name the file and the line)."""

from __future__ import annotations

import pytest

from hf_hybrid.data import DataError, read_jsonl
from hf_hybrid.data.jsonl import iter_jsonl


def test_reads_objects_and_skips_blank_lines(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"a": 1}\n\n  \n{"a": 2, "b": [1]}\n')
    assert read_jsonl(p) == [{"a": 1}, {"a": 2, "b": [1]}]
    assert [n for n, _ in iter_jsonl(p)] == [1, 4]
    (tmp_path / "empty.jsonl").write_text("")
    assert read_jsonl(tmp_path / "empty.jsonl") == []


def test_errors_name_file_and_line(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"a": 1}\n\n{"a": \n')
    with pytest.raises(DataError, match=r"x.jsonl: line 3, column \d+: malformed JSON"):
        read_jsonl(p)
    p.write_text('{"a": 1}\n[1, 2]\n')
    with pytest.raises(DataError, match=r"x.jsonl: line 2: expected a JSON object, got list"):
        read_jsonl(p)
