"""load_corpus: JSONL(.gz), Parquet, saved datasets, Hub names; the title join; every error names file, line, field."""

from __future__ import annotations

import gzip
import json

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hf_hybrid.data import DataError
from hf_hybrid.data.beir import load_beir_pool
from hf_hybrid.retrieval.corpus import Corpus, load_corpus

ROWS = [{"_id": "d1", "title": "Paris", "text": "is the capital of France.", "lang": "en"},
        {"_id": "d2", "title": "", "text": "Berlin liegt an der Spree.", "lang": "de"},
        {"_id": "d3", "text": "无标题", "lang": "zh"}]


def _jsonl(path, rows, gz=False):
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_jsonl_plain_and_gzipped_with_title_join(tmp_path, gz):
    path = _jsonl(tmp_path / ("c.jsonl.gz" if gz else "c.jsonl"), ROWS, gz)
    corpus = load_corpus(path, id_field="_id", title_field="title")
    assert corpus.ids == ["d1", "d2", "d3"]
    assert corpus.texts == ["Paris is the capital of France.", "Berlin liegt an der Spree.", "无标题"]
    assert corpus.langs == ["en", "de", "zh"] and corpus.source == str(path) and len(corpus) == 3
    without = load_corpus(path, id_field="_id")
    assert without.texts[0] == "is the capital of France."


def test_title_join_matches_the_beir_loader(tmp_path):
    (tmp_path / "qrels").mkdir()
    _jsonl(tmp_path / "corpus.jsonl", ROWS)
    _jsonl(tmp_path / "queries.jsonl", [{"_id": "q1", "text": "capital?"}])
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    pool = load_beir_pool(tmp_path)
    corpus = load_corpus(tmp_path / "corpus.jsonl", id_field="_id", title_field="title")
    assert dict(zip(corpus.ids, corpus.texts)) == dict(zip(pool.cand_ids, pool.cand_texts))


def test_parquet_saved_dataset_and_datasetdict(tmp_path):
    table = pa.table({"docid": [7, 8], "body": ["a b", "c"], "other": [1.0, 2.0]})
    pq.write_table(table, tmp_path / "c.parquet")
    corpus = load_corpus(tmp_path / "c.parquet", id_field="docid", text_field="body")
    assert (corpus.ids, corpus.texts, corpus.langs) == (["7", "8"], ["a b", "c"], None)

    ds = datasets.Dataset.from_dict({"id": ["x", "y"], "text": ["t1", "t2"], "lang": ["en", "fr"]})
    ds.save_to_disk(str(tmp_path / "saved"))
    assert load_corpus(tmp_path / "saved").langs == ["en", "fr"]
    datasets.DatasetDict({"corpus": ds}).save_to_disk(str(tmp_path / "dict"))
    assert load_corpus(tmp_path / "dict").ids == ["x", "y"]  # the only split is picked
    datasets.DatasetDict({"a": ds, "b": ds}).save_to_disk(str(tmp_path / "two"))
    with pytest.raises(DataError, match=r"two: pick a split with split=\.\.\. \(--corpus_split\); it has \['a', 'b'\]"):
        load_corpus(tmp_path / "two")
    assert load_corpus(tmp_path / "two", split="b").source == f"{tmp_path / 'two'} [b]"


def test_hub_name_goes_to_load_dataset_and_errors_are_one_line(monkeypatch):
    calls = []

    def fake_load(name, config, split=None):
        calls.append((name, config, split))
        if name == "org/missing":
            raise FileNotFoundError("Dataset 'org/missing' doesn't exist on the Hub")
        return datasets.DatasetDict({"train": datasets.Dataset.from_dict({"id": ["h1"], "text": ["hub text"]})})

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    corpus = load_corpus("org/corpus", config_name="de")
    assert (corpus.ids, corpus.source, calls[-1]) == (["h1"], "org/corpus [train]", ("org/corpus", "de", None))
    with pytest.raises(DataError, match=r"^org/missing: could not load this datasets Hub dataset \(FileNotFoundError: "
                                        r"Dataset 'org/missing' doesn't exist on the Hub\)"):
        load_corpus("org/missing")


@pytest.mark.parametrize("rows, field, message", [
    ([{"id": "a", "text": "x"}, {"text": "y", "_id": "b"}], "id",
     r"c\.jsonl: line 2: field 'id' \(the id\) is missing \(the row has \['_id', 'text'\]\)\. .*--id_field"),
    ([{"id": "a", "text": "x"}, {"id": "b"}], "text",
     r"c\.jsonl: line 2: field 'text' \(the text\) is missing \(the row has \['id'\]\)"),
    ([{"id": "a", "text": "x"}, {"id": "a", "text": "y"}], "dup",
     r"c\.jsonl: line 2: field 'id': duplicate id 'a' \(first at line 1\)\. Ids must be unique"),
    ([{"id": "a", "text": 3}], "type", r"c\.jsonl: line 1: field 'text': the text is int 3, expected a string\."),
    ([{"id": 1.5, "text": "x"}], "idtype", r"line 1: field 'id': the id is float 1\.5, expected a string\."),
    ([{"id": "a\nb", "text": "x"}], "newline", r"line 1: field 'id': the id 'a\\nb' is empty or holds a line break"),
    ([{"id": "a", "text": "x", "title": 5}], "title", r"line 1: field 'title': the title is int, expected a string"),
    ([{"id": "a", "text": "x", "lang": "en"}, {"id": "b", "text": "y"}], "lang",
     r"line 2: field 'lang': expected a language code string, got None; when the field exists every row needs one"),
])
def test_bad_jsonl_rows_name_file_line_and_field(tmp_path, rows, field, message):
    path = _jsonl(tmp_path / "c.jsonl", rows)
    with pytest.raises(DataError, match=message):
        load_corpus(path, title_field="title")


def test_blank_lines_keep_true_line_numbers_and_ints_become_strings(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": 1, "text": "x"}\n\n{"id": 1, "text": "y"}\n')
    with pytest.raises(DataError, match=r"line 3: field 'id': duplicate id '1' \(first at line 1\)"):
        load_corpus(path)


def test_column_sources_name_missing_columns_and_rows(tmp_path):
    pq.write_table(pa.table({"id": ["a", "b"], "body": ["x", "y"]}), tmp_path / "c.parquet")
    with pytest.raises(DataError, match=r"c\.parquet: no column 'text' \(the text\); the columns are "
                                        r"\['id', 'body'\]\. Name it with --text_field\."):
        load_corpus(tmp_path / "c.parquet")
    pq.write_table(pa.table({"id": ["a", None], "text": ["x", "y"]}), tmp_path / "d.parquet")
    with pytest.raises(DataError, match=r"d\.parquet: row 1: field 'id' \(the id\) is missing"):
        load_corpus(tmp_path / "d.parquet")


def test_unreadable_sources(tmp_path):
    (tmp_path / "c.csv").write_text("id,text\n")
    with pytest.raises(DataError, match=r"c\.csv: unsupported corpus file type; use \.jsonl, \.jsonl\.gz or \.parquet"):
        load_corpus(tmp_path / "c.csv")
    with pytest.raises(DataError, match=r"nope\.jsonl: no such file or directory\."):
        load_corpus(tmp_path / "nope.jsonl")
    (tmp_path / "beir").mkdir()
    (tmp_path / "beir" / "corpus.jsonl").write_text("")
    with pytest.raises(DataError, match=r"not one saved by datasets' save_to_disk\. For a BEIR directory pass "
                                        r".*beir/corpus\.jsonl\."):
        load_corpus(tmp_path / "beir")
    with pytest.raises(DataError, match=r"corpus\.jsonl: the corpus holds no rows\."):
        load_corpus(tmp_path / "beir" / "corpus.jsonl")
    (tmp_path / "cut.jsonl.gz").write_bytes(gzip.compress(b'{"id": "a", "text": "x"}\n' * 50)[:-20])
    with pytest.raises(DataError, match=r"cut\.jsonl\.gz: not a complete gzip file"):
        load_corpus(tmp_path / "cut.jsonl.gz")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match=r"bad\.parquet: not a readable Parquet file"):
        load_corpus(tmp_path / "bad.parquet")


def test_fingerprint_covers_ids_and_texts_in_order_not_langs():
    base = Corpus(["a", "b"], ["x", "y"], ["en", "de"])
    assert base.fingerprint() == Corpus(["a", "b"], ["x", "y"]).fingerprint()
    others = [Corpus(["b", "a"], ["y", "x"]), Corpus(["a", "b"], ["x", "y "]), Corpus(["a", "c"], ["x", "y"]),
              Corpus(["ab", ""], ["x", "y"]), Corpus(["a"], ["xb\x00y"])]
    assert len({c.fingerprint() for c in [base, *others]}) == 6
    with pytest.raises(ValueError, match="the lists must be parallel"):
        Corpus(["a"], ["x", "y"])
