"""hf_hybrid.data.miracl: both layouts, languages and splits, id collisions, corpus modes, file:line errors."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import pytest

from hf_hybrid.data import DataError, is_miracl_dir, load_miracl, load_pool, load_retrieval_data, miracl_languages

DOCS = {"de": [("10#0", "Turm", "Der Turm ist 324 m hoch."), ("10#1", "Turm", "Er steht in Paris."),
               ("11#0", "Brücke", "Eine Brücke.")],
        "sw": [("10#0", "Mnara", "Mnara una urefu wa mita 324."), ("12#0", "Mto", "Mto mrefu.")]}
TOPICS = {"de": [("1", "Wie hoch ist der Turm?"), ("2", "Wo steht er?")], "sw": [("1", "Mnara una urefu gani?")]}
QRELS = {"de": [("1", "10#0", 1), ("1", "11#0", 0), ("2", "10#1", 1)], "sw": [("1", "10#0", 1), ("1", "12#0", 0)]}


def _write_docs(path: Path, rows) -> None:
    text = "".join(json.dumps({"docid": d, "title": t, "text": x}, ensure_ascii=False) + "\n" for d, t, x in rows)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")


def write_official(root: Path, split: str = "dev") -> Path:
    """The Hub layout: miracl/ (topics, qrels) and miracl-corpus/ (two gzipped shards per language)."""
    for lang in DOCS:
        d = root / "miracl" / f"miracl-v1.0-{lang}"
        (d / "topics").mkdir(parents=True)
        (d / "qrels").mkdir()
        (d / "topics" / f"topics.miracl-v1.0-{lang}-{split}.tsv").write_text(
            "".join(f"{q}\t{t}\n" for q, t in TOPICS[lang]), encoding="utf-8")
        (d / "topics" / f"topics.miracl-v1.0-{lang}-testB.tsv").write_text("9\tno judgements\n", encoding="utf-8")
        (d / "qrels" / f"qrels.miracl-v1.0-{lang}-{split}.tsv").write_text(
            "".join(f"{q}\tQ0\t{doc}\t{r}\n" for q, doc, r in QRELS[lang]), encoding="utf-8")
        c = root / "miracl-corpus" / f"miracl-corpus-v1.0-{lang}"
        c.mkdir(parents=True)
        _write_docs(c / "docs-1.jsonl.gz", DOCS[lang][1:])
        _write_docs(c / "docs-0.jsonl.gz", DOCS[lang][:1])
    return root


def write_simple(root: Path, lang: str = "de") -> Path:
    d = root / lang
    d.mkdir(parents=True)
    (d / "topics.dev.tsv").write_text("".join(f"{q}\t{t}\n" for q, t in TOPICS[lang]), encoding="utf-8")
    (d / "qrels.dev.tsv").write_text("".join(f"{q} 0 {doc} {r}\n" for q, doc, r in QRELS[lang]), encoding="utf-8")
    _write_docs(d / "corpus.jsonl", DOCS[lang])
    return root


def test_official_layout_one_language(tmp_path):
    root = write_official(tmp_path)
    assert miracl_languages(root) == ["de", "sw"] and is_miracl_dir(root)
    assert not is_miracl_dir(tmp_path / "miracl-corpus")
    data = load_miracl(root, languages=["de"])
    assert data.query_ids == ["1", "2"] and data.query_langs == ["de", "de"]
    assert data.query_texts[0] == "Wie hoch ist der Turm?"
    assert data.doc_ids == ["10#0", "10#1", "11#0"]                     # shards in numeric order
    assert data.doc_titles[2] == "Brücke" and data.doc_langs == ["de"] * 3
    assert data.qrels == {"1": {"10#0": 1, "11#0": 0}, "2": {"10#1": 1}}
    assert next(data.corpus_rows()) == {"id": "10#0", "title": "Turm", "text": "Der Turm ist 324 m hoch.", "lang": "de"}
    assert data.meta["format"] == "miracl" and data.name == "miracl-dev"


def test_ids_collide_across_languages_unless_prefixed(tmp_path):
    root = write_official(tmp_path)
    with pytest.raises(DataError, match=r"query id '1' occurs in more than one of the languages.*prefix_ids=True"):
        load_miracl(root)
    data = load_miracl(root, prefix_ids=True, corpus="ids")
    assert data.query_ids == ["de/1", "de/2", "sw/1"]
    assert data.doc_ids == ["de/10#0", "de/10#1", "de/11#0", "sw/10#0", "sw/12#0"] and data.doc_texts is None
    assert data.qrels["sw/1"] == {"sw/10#0": 1, "sw/12#0": 0}
    assert data.doc_lang_map()["sw/12#0"] == "sw" and data.query_lang_map()["de/2"] == "de"
    with pytest.raises(DataError, match='corpus texts are not loaded; load it with corpus="full"'):
        data.corpus_dataset()


def test_corpus_none_and_split_without_qrels(tmp_path, caplog):
    root = write_official(tmp_path)
    with caplog.at_level(logging.WARNING):
        data = load_miracl(root, split="testB", languages=["sw"], corpus="none")
    assert data.query_ids == ["9"] and data.qrels == {} and not data.has_corpus
    assert "has no judgements" in caplog.text
    with pytest.raises(DataError, match=r"no 'test' topics for language 'de' \(available splits: \['dev', 'testB'\]\)"):
        load_miracl(root, split="test", languages=["de"])
    with pytest.raises(DataError, match=r"languages \['fr'\] not found \(available: \['de', 'sw'\]\)"):
        load_miracl(root, languages=["fr"])


def test_simplified_layout_and_sources(tmp_path):
    root = write_simple(tmp_path / "m")
    data = load_miracl(root)
    assert data.query_ids == ["1", "2"] and data.doc_ids == ["10#0", "10#1", "11#0"]
    assert load_retrieval_data(root, corpus="ids").doc_lang_map() == {"10#0": "de", "10#1": "de", "11#0": "de"}
    pool = load_pool(root)                                              # small sets: the dense metrics
    assert pool.query_groups == ["1", "2"] and pool.cand_groups == [("1",), ("2",), ()]
    assert pool.cand_texts[0] == "Turm Der Turm ist 324 m hoch."
    assert len(data.corpus_dataset()) == 3


def test_qrels_to_missing_passages_are_dropped(tmp_path, caplog):
    root = write_simple(tmp_path / "m")
    with open(root / "de" / "qrels.dev.tsv", "a", encoding="utf-8") as fh:
        fh.write("2 0 99#9 1\n")
    with caplog.at_level(logging.WARNING):
        data = load_miracl(root)
    assert data.qrels["2"] == {"10#1": 1} and data.meta["judgements_dropped"] == 1
    assert "missing from the corpus" in caplog.text
    assert load_miracl(root, corpus="none").qrels["2"] == {"10#1": 1, "99#9": 1}   # no corpus: nothing to check against


@pytest.mark.parametrize("file, content, message", [
    ("topics.dev.tsv", "1 no tab here\n", r"topics.dev.tsv:1: expected 'qid<TAB>query'"),
    ("topics.dev.tsv", "1\ta\n1\tb\n", r"topics.dev.tsv:2: field 'qid' '1' already appears on line 1"),
    ("qrels.dev.tsv", "1 Q0 10#0 yes\n", r"qrels.dev.tsv:1: field 'relevance' is 'yes'"),
    ("qrels.dev.tsv", "7 Q0 10#0 1\n", r"1 query id\(s\) not in .*topics.dev.tsv, e.g. \['7'\]"),
    ("corpus.jsonl", '{"title": "x", "text": "y"}\n', r"corpus.jsonl: line 1: field 'docid' is missing"),
    ("corpus.jsonl", '{"docid": "a", "text": "y"}\n{"docid": "a", "text": "z"}\n',
     r"corpus.jsonl: line 2: field 'docid' 'a' appears twice"),
    ("corpus.jsonl", '{"docid": "a", "title": "y"}\n', r"corpus.jsonl: line 1: field 'text' is missing"),
    ("corpus.jsonl", '{"docid": "a", "text": "y"\n', r"corpus.jsonl: line 1, column \d+: malformed JSON"),
])
def test_errors_name_file_line_and_field(tmp_path, file, content, message):
    root = write_simple(tmp_path / "m")
    (root / "de" / file).write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        load_miracl(root)


def test_not_a_miracl_dir_and_missing_corpus(tmp_path):
    with pytest.raises(DataError, match="not a MIRACL directory"):
        load_miracl(tmp_path)
    root = write_simple(tmp_path / "m")
    (root / "de" / "corpus.jsonl").unlink()
    with pytest.raises(DataError, match=r"no corpus files for 'de'.*corpus='none'"):
        load_miracl(root)
    with pytest.raises(DataError, match="corpus must be one of"):
        load_miracl(root, corpus="texts")


def test_evaluate_command_scores_a_multi_language_miracl_run_with_prefix_ids(tmp_path, capsys):
    """The README's step 3 on MIRACL with several languages: ids repeat across languages, so --prefix-ids."""
    from hf_hybrid.commands.evaluate import main

    root = write_official(tmp_path / "miracl")
    run = tmp_path / "run.trec"
    run.write_text("de/1 Q0 de/10#0 1 0.9 t\nde/1 Q0 sw/10#0 2 0.8 t\nde/2 Q0 de/10#1 1 0.7 t\n"
                   "sw/1 Q0 sw/12#0 1 0.9 t\nsw/1 Q0 sw/10#0 2 0.5 t\n", encoding="utf-8")
    assert main(["--run", str(run), "--data", str(root), "--output", str(tmp_path / "no")]) == 2
    assert "--prefix-ids" in capsys.readouterr().err
    assert main(["--run", str(run), "--data", str(root), "--prefix-ids", "--output", str(tmp_path / "ok")]) == 0
    result = json.loads((tmp_path / "ok" / "results.json").read_text())
    # de/1: relevant de/10#0 at rank 1 (AP 1); de/2: de/10#1 at 1 (AP 1); sw/1: sw/10#0 (rel 1) at rank 2 (AP 1/2)
    assert result["pool"]["map"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert result["languages"] == ["de", "sw"]
