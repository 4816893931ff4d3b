"""hf_hybrid.data.tables / schema: JSONL, Parquet, CSV files and datasets as canonical pairs, and their errors."""

from __future__ import annotations

import json

import datasets
import pytest

from hf_hybrid.data import DataError, load_pairs


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "csv"])
def test_table_files_round_trip(tmp_path, fmt, rows):
    ds = datasets.Dataset.from_list(rows)
    path = tmp_path / f"pairs.{fmt}"
    if fmt == "jsonl":
        path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    elif fmt == "parquet":
        ds.to_parquet(str(path))
    else:
        ds.to_csv(str(path), index=False)
    out = load_pairs(path)
    assert out.to_list() == rows


def test_column_mapping_and_negatives():
    src = datasets.Dataset.from_list([
        {"qid": 1, "language": "en", "question": "Q", "answer": "A", "hard": ["n1", "n2"]}])
    out = load_pairs(src, column_mapping={"qid": "group_id", "language": "lang", "question": "query",
                                          "answer": "positive", "hard": "negatives"})
    assert out[0] == {"group_id": "1", "lang": "en", "query": "Q", "positive": "A", "negatives": ["n1", "n2"],
                      "article": "1"}


# ---------------------------------------------------------------- bad input


def test_malformed_jsonl_names_line(tmp_path, rows):
    p = tmp_path / "x.jsonl"
    p.write_text(json.dumps(rows[0]) + "\n{oops\n")
    with pytest.raises(DataError, match=r"x.jsonl: line 2, column 2: malformed JSON"):
        load_pairs(p)


def test_missing_columns(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text(json.dumps({"group_id": "1", "lang": "en", "question": "Q", "positive": "A"}) + "\n")
    with pytest.raises(DataError, match=r"missing column\(s\) \['query'\].*column_mapping"):
        load_pairs(p)


def test_duplicate_group_language(tmp_path, rows):
    p = tmp_path / "x.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in [rows[0], rows[2], rows[0]]) + "\n")
    with pytest.raises(DataError, match=r"x.jsonl: row 3: duplicate \(group_id, lang\) = \('g1', 'en'\), "
                                        r"first seen at row 1"):
        load_pairs(p)


def test_empty_text(tmp_path, rows):
    p = tmp_path / "x.csv"
    datasets.Dataset.from_list([rows[0], {**rows[2], "positive": "  "}]).to_csv(str(p), index=False)
    with pytest.raises(DataError, match=r"x.csv: line 3: empty 'positive'"):
        load_pairs(p)


def test_unsupported_file(tmp_path):
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(DataError, match=r"unsupported file type '.txt'"):
        load_pairs(tmp_path / "x.txt")
