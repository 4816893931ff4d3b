"""Issue 16, case 3: wrong-typed values, non-UTF-8 bytes and malformed CSV rows are DataErrors naming the
file, the line (JSONL: the row, which is the line unless blank lines shift it) and the field, and what to do.

Before: raw ``ArrowTypeError`` / ``ArrowInvalid`` / ``UnicodeDecodeError`` / ``DatasetGenerationError``
tracebacks, or (a CSV row with one field too many) a shifted row reported as an empty field.
"""

from __future__ import annotations

import json

import datasets
import pytest

from hf_hybrid.data import DataError, load_pairs

GOOD = {"group_id": "g1", "lang": "en", "query": "Who?", "positive": "Him."}
HEADER = "group_id,lang,query,positive\n"


def _jsonl(tmp_path, second: dict | str, mapping=None) -> str:
    path = tmp_path / "pairs.jsonl"
    line = second if isinstance(second, str) else json.dumps(second)
    path.write_text(json.dumps(GOOD) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_pairs(path, column_mapping=mapping)
    return str(info.value).replace(f"{path}: ", "")


@pytest.mark.parametrize("change, message", [
    ({"query": 5}, "row 2: 'query' must be a string, got int 5. Write it as text (in JSON: in double quotes)."),
    ({"positive": ["a", "b"]},
     "row 2: 'positive' must be a string, got list ['a', 'b']. Write it as text (in JSON: in double quotes)."),
    ({"group_id": 1.5}, ("row 2: 'group_id' must be a string or an integer, got float 1.5. Write it as text (in "
                         "JSON: in double quotes).")),
    ({"lang": True}, ("row 2: 'lang' must be a string or an integer, got bool True. Write it as text (in JSON: in "
                      "double quotes).")),
    ({"negatives": "x"}, ("row 2: 'negatives' must be a list of strings such as [\"a wrong passage\"], or null; got "
                          "str 'x'.")),
    ({"negatives": ["ok", 3]}, ("row 2: 'negatives' must be a list of strings such as [\"a wrong passage\"], or "
                                "null; got list ['ok', 3].")),
    ({"article": {"t": 1}}, ("row 2: 'article' must be a string or an integer, got dict {'t': 1}. Write it as text "
                             "(in JSON: in double quotes).")),
    ({"group_id": None}, "row 2: empty 'group_id'. Fill it or drop the row."),
])
def test_jsonl_wrong_types(tmp_path, change, message):
    assert _jsonl(tmp_path, {**GOOD, "lang": "de", **change}) == message


def test_jsonl_wrong_type_names_the_field_of_the_file(tmp_path):
    row = {"qid": "g1", "lang": "de", "question": 5, "positive": "P"}
    mapping = {"qid": "group_id", "question": "query"}
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({**row, "question": "Q"}) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(DataError) as info:
        load_pairs(path, column_mapping=mapping)
    assert str(info.value) == (f"{path}: row 2: 'question' (mapped to 'query') must be a string, got int 5. Write "
                               "it as text (in JSON: in double quotes).")


def test_jsonl_positions_after_blank_lines(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(GOOD) + "\n\n\n" + json.dumps({**GOOD, "lang": "de", "query": 5}) + "\n")
    with pytest.raises(DataError, match=r": row 2 \(line 4\): 'query' must be a string"):
        load_pairs(path)


def test_jsonl_not_utf8(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_bytes(json.dumps(GOOD).encode() + b'\n{"group_id": "g1", "lang": "de", "query": "Gr\xfc\xdf", '
                     b'"positive": "P"}\n')
    with pytest.raises(DataError) as info:
        load_pairs(path)
    assert str(info.value) == (f"{path}: line 2, column 46, field 'query': not UTF-8 text (byte 0xfc). Re-encode "
                               "the file as UTF-8 (e.g. iconv -f latin1 -t utf-8).")


def test_a_utf8_byte_order_mark_is_fine(tmp_path):
    for name, text in [("p.jsonl", json.dumps(GOOD) + "\n"), ("p.csv", HEADER + "g1,en,Who?,Him.\n")]:
        (tmp_path / name).write_bytes(b"\xef\xbb\xbf" + text.encode())
        assert load_pairs(tmp_path / name)["group_id"] == ["g1"]


def _csv(tmp_path, text: str | bytes) -> str:
    path = tmp_path / "pairs.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(DataError) as info:
        load_pairs(path)
    return str(info.value).replace(f"{path}: ", "")


@pytest.mark.parametrize("text, message", [
    (HEADER + "g1,en,Who?,Him.\ng1,de,Wer, bitte?,Er.\n",
     ("line 3: 5 field(s), but the header has 4 (group_id,lang,query,positive). Quote values that hold commas or "
      "line breaks (\"a, b\"), or fix this row.")),
    (HEADER + 'g1,en,"Who?\nreally?",Him.\ng1,de,Wer?\n',
     ("line 4: 3 field(s), but the header has 4 (group_id,lang,query,positive). Quote values that hold commas or "
      "line breaks (\"a, b\"), or fix this row.")),
    (HEADER + 'g1,en,Who?,Him.\ng1,de,"Wer?,Er.\ng2,en,What?,That.\n',
     ("line 3: malformed CSV (unexpected end of data): a quoted field that starts here is never closed. Fix the "
      "quoting of this record.")),
    (HEADER + 'g1,en,"Who" he said,Him.\n',
     ("line 2: malformed CSV (',' expected after '\"'): a quote inside a field must be doubled (\"\"). Fix the "
      "quoting of this record.")),
    ((HEADER + "g1,en,Who?,Him.\ng1,de,Wer?,Gr\xfc\xdfe.\n").encode("latin-1"),
     ("line 3, field 'positive': not UTF-8 text (byte 0xfc). Re-encode the file as UTF-8 (e.g. iconv -f latin1 -t "
      "utf-8).")),
    ((HEADER + 'g1,en,"Who?\nGr\xfc\xdfe",Him.\n').encode("latin-1"),
     ("line 3, field 'query': not UTF-8 text (byte 0xfc). Re-encode the file as UTF-8 (e.g. iconv -f latin1 -t "
      "utf-8).")),
    ("group_id,lang,query,query\n", "line 1: column 'query' appears twice in the header; rename one of them."),
    ("", "the file is empty; expected a header line such as group_id,lang,query,positive and one line per row."),
    (HEADER.replace("\n", ",negatives\n") + "g1,en,Who?,Him.,\ng1,de,Wer?,Er.,a wrong one\n",
     ("line 3: field 'negatives': a CSV cell cannot hold a list of hard negatives. Leave it empty, or use a JSONL or "
      "Parquet file for negatives.")),
])
def test_malformed_csv(tmp_path, text, message):
    assert _csv(tmp_path, text) == message


def test_csv_lines_after_a_multiline_field(tmp_path):
    text = HEADER + 'g1,en,Who?,"Line one\nline two\nline three"\n\ng2,en,What?,\n'
    assert _csv(tmp_path, text) == "line 6: empty 'positive'. Fill it or drop the row."


def test_an_empty_csv_cell_in_an_optional_column_is_missing(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("group_id,lang,query,positive,negatives,article\ng1,en,Who?,Him.,,\ng1,de,Wer?,Er.,,A\n")
    assert load_pairs(path).to_list() == [
        {"group_id": "g1", "lang": "en", "query": "Who?", "positive": "Him.", "negatives": None, "article": "A"},
        {"group_id": "g1", "lang": "de", "query": "Wer?", "positive": "Er.", "negatives": None, "article": "A"}]


def test_a_dataset_with_a_number_for_a_text():
    ds = datasets.Dataset.from_list([{**GOOD, "query": 1}, {**GOOD, "lang": "de", "query": 2}])
    with pytest.raises(DataError) as info:
        load_pairs(ds)
    assert str(info.value) == ("dataset: row 0: 'query' must be a string, got int 1. Write it as text (in JSON: in "
                               "double quotes).")
