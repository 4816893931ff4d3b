"""hf_hybrid.data.schema: the canonical columns, validate_parallel, canonicalise, check_languages.

Positions in messages are counted the way the file type counts them: JSONL rows from 1, CSV lines from 2
(line 1 is the header), in-memory datasets by row index. Loading whole files is tested in test_tables.py.
"""

from __future__ import annotations

import json
import re

import datasets
import pytest

from hf_hybrid.data import DataError
from hf_hybrid.data.schema import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    canonicalise,
    check_languages,
    validate_parallel,
)


def test_canonical_columns():
    assert REQUIRED_COLUMNS == ("group_id", "lang", "query", "positive")
    assert OPTIONAL_COLUMNS == ("negatives", "article")
    assert issubclass(DataError, ValueError)


# ---------------------------------------------------------------- validate_parallel


def test_valid_data_passes(pairs):
    assert validate_parallel(pairs) is None
    assert validate_parallel(pairs.remove_columns("article")) is None


def test_missing_columns_name_them_and_the_remedy(rows):
    ds = datasets.Dataset.from_list([{k: v for k, v in r.items() if k not in ("lang", "positive")} for r in rows])
    with pytest.raises(DataError) as info:
        validate_parallel(ds, "pairs.jsonl", "jsonl")
    assert str(info.value) == ("pairs.jsonl: missing column(s) ['lang', 'positive']; found ['group_id', 'query', "
                               "'article']. Rename them, or pass column_mapping={'your_column': 'query', ...}.")


def test_no_rows(pairs):
    with pytest.raises(DataError, match=r"^x.csv: no rows\.$"):
        validate_parallel(pairs.select([]), "x.csv", "csv")


@pytest.mark.parametrize("file_format, label", [("jsonl", "row 2"), ("csv", "line 3"), (None, "row 1")])
@pytest.mark.parametrize("column", REQUIRED_COLUMNS)
@pytest.mark.parametrize("blank", ["", " \t\n", None])
def test_empty_field_names_file_position_and_column(rows, file_format, label, column, blank):
    rows[1][column] = blank
    ds = datasets.Dataset.from_list(rows)
    with pytest.raises(DataError) as info:
        validate_parallel(ds, "src", file_format)
    assert str(info.value) == f"src: {label}: empty '{column}'. Fill it or drop the row."


def test_default_source_name(rows):
    rows[2]["query"] = ""
    with pytest.raises(DataError, match=r"^dataset: row 2: empty 'query'"):
        validate_parallel(datasets.Dataset.from_list(rows))


@pytest.mark.parametrize("file_format, here, first", [("jsonl", "row 4", "row 2"), ("csv", "line 5", "line 3"),
                                                      (None, "row 3", "row 1")])
def test_duplicate_group_language_names_both_positions(rows, file_format, here, first):
    ds = datasets.Dataset.from_list([rows[0], rows[1], rows[2], {**rows[1], "query": "Wer nochmal?"}])
    with pytest.raises(DataError) as info:
        validate_parallel(ds, "data/pairs.src", file_format)
    assert str(info.value) == (
        f"data/pairs.src: {here}: duplicate (group_id, lang) = ('g1', 'de'), first seen at {first}. Each question "
        "may appear once per language; give translations the same group_id and different lang.")


def test_the_first_violation_is_reported(rows):
    # row 1 has an empty query and row 2 repeats row 0: the earlier row wins
    ds = datasets.Dataset.from_list([rows[0], {**rows[1], "query": ""}, rows[0]])
    with pytest.raises(DataError, match=r"row 2: empty 'query'"):
        validate_parallel(ds, "f.jsonl", "jsonl")


def test_same_group_in_other_languages_and_same_language_in_other_groups_are_fine(rows):
    ds = datasets.Dataset.from_list(rows + [{**rows[0], "lang": "zh"}, {**rows[2], "group_id": "g3"}])
    validate_parallel(ds)


@pytest.mark.parametrize("file_format, label", [("jsonl", "row 3"), ("csv", "line 4"), (None, "row 2")])
@pytest.mark.parametrize("bad", [[""], ["ok", "  "]])
def test_negatives_must_be_non_empty_strings(rows, file_format, label, bad):
    negs = [["n1"], None, bad]
    ds = datasets.Dataset.from_list([{**r, "negatives": n} for r, n in zip(rows, negs)])
    with pytest.raises(DataError) as info:
        validate_parallel(ds, "src", file_format)
    assert str(info.value) == f"src: {label}: 'negatives' must be a list of non-empty strings."


def test_negatives_may_be_missing_or_empty_per_row(rows):
    ds = datasets.Dataset.from_list([{**r, "negatives": n} for r, n in zip(rows, [["n1", "n2"], None, []])])
    validate_parallel(ds)


# ---------------------------------------------------------------- positions in real files


def _line_of(path, needle: str) -> int:
    (n,) = [i for i, line in enumerate(path.read_text().splitlines(), start=1) if needle in line]
    return n


def test_csv_line_numbers_match_the_file(tmp_path, rows):
    rows[2]["positive"] = ""
    path = tmp_path / "pairs.csv"
    datasets.Dataset.from_list(rows).to_csv(str(path), index=False)
    ds = datasets.Dataset.from_csv(str(path))
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}: line {_line_of(path, 'What?')}: empty 'positive'"):
        canonicalise(ds, str(path), "csv", None)
    assert _line_of(path, "What?") == 4


def test_jsonl_row_numbers_match_the_file(tmp_path, rows):
    rows[1]["lang"] = " "
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}: row {_line_of(path, 'Wer?')}: empty 'lang'"):
        canonicalise(datasets.Dataset.from_list([json.loads(line) for line in path.read_text().splitlines()]),
                     str(path), "jsonl", None)


def test_csv_line_numbers_with_a_multiline_field(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text('group_id,lang,query,positive\ng1,en,Who?,"Line one\nline two"\ng2,en,,What.\n')
    ds = datasets.Dataset.from_csv(str(path))
    with pytest.raises(DataError, match=r"line 4: empty 'query'"):
        canonicalise(ds, str(path), "csv", None)


# ---------------------------------------------------------------- canonicalise


def test_canonicalise_maps_types_adds_article_and_drops_the_rest():
    src = datasets.Dataset.from_list([
        {"extra": 1, "positive": "A1", "lang": "en", "group_id": 7, "query": "Q1"},
        {"extra": 2, "positive": "A2", "lang": "de", "group_id": 7, "query": "Q2"},
    ])
    out = canonicalise(src, "src", None, None)
    assert out.column_names == ["group_id", "lang", "query", "positive", "article"]
    assert out.features["group_id"].dtype == "string" and out.features["article"].dtype == "string"
    assert out.to_list() == [
        {"group_id": "7", "lang": "en", "query": "Q1", "positive": "A1", "article": "7"},
        {"group_id": "7", "lang": "de", "query": "Q2", "positive": "A2", "article": "7"},
    ]


def test_canonicalise_keeps_a_given_article_and_negatives(pairs):
    with_negs = pairs.add_column("negatives", [["n"], None, ["m", "o"]])
    out = canonicalise(with_negs, "src", None, None)
    assert out.column_names == ["group_id", "lang", "query", "positive", "negatives", "article"]
    assert out["article"] == ["A", "A", "B"] and out["negatives"] == [["n"], None, ["m", "o"]]


def test_canonicalise_renames_with_the_column_mapping():
    src = datasets.Dataset.from_list([{"qid": "q1", "language": "en", "question": "Q", "answer": "A", "doc": "D"}])
    out = canonicalise(src, "src", None, {"qid": "group_id", "language": "lang", "question": "query",
                                          "answer": "positive", "doc": "article"})
    assert out.to_list() == [{"group_id": "q1", "lang": "en", "query": "Q", "positive": "A", "article": "D"}]


def test_column_mapping_naming_absent_columns(pairs):
    with pytest.raises(DataError) as info:
        canonicalise(pairs, "pairs.parquet", "parquet", {"question": "query", "query": "query", "answer": "positive"})
    assert str(info.value) == ("pairs.parquet: column_mapping names column(s) ['question', 'answer'] that do not "
                               "exist; found ['group_id', 'lang', 'query', 'positive', 'article'].")


def test_canonicalise_reports_with_the_canonical_names_and_the_file_position():
    src = datasets.Dataset.from_list([{"question": "Q", "answer": "A", "lang": "en", "group_id": "g"},
                                      {"question": "Q", "answer": " ", "lang": "de", "group_id": "g"}])
    with pytest.raises(DataError, match=r"^f.csv: line 3: empty 'positive'\."):
        canonicalise(src, "f.csv", "csv", {"question": "query", "answer": "positive"})


# ---------------------------------------------------------------- check_languages


def test_check_languages():
    check_languages(["de", "en"], ["en", "de", "en", "zh"], "xquad-r")
    with pytest.raises(DataError, match=re.escape("xquad-r: unknown language(s) ['fr', 'xx']; available: "
                                                  "['de', 'en', 'zh'].")):
        check_languages(["en", "fr", "xx"], ["zh", "en", "de"], "xquad-r")
    with pytest.raises(DataError, match=re.escape("src: empty language list; pass at least one of ['de', 'en'].")):
        check_languages([], ["en", "de"], "src")
    with pytest.raises(DataError, match=re.escape("src: languages must be a list such as ['en', 'de'], not the string "
                                                  "'en'.")):
        check_languages("en", ["en", "de"], "src")
