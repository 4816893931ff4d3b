"""BEIR directories as a :class:`~hf_hybrid.data.RetrievalPool`: :func:`load_beir_pool`, :func:`is_beir_dir`.

BEIR (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``) is the common format of retrieval
benchmarks. Mapping it onto the pool's group relation lets the same metric code score it as LAReQA data
(``docs/design.md``, section 3): a query's group is its own id, and a document's groups are the ids of
the queries that judge it relevant (score > 0), so "relevant iff the query's group is among the
candidate's groups" holds unchanged. :func:`load_beir` gives the same files as :class:`RetrievalData`
(queries, qrels, corpus rows), the form a corpus-scale run is encoded, searched and scored from.
"""

from __future__ import annotations

import csv
import logging
import os
from pathlib import Path
from typing import Any, Sequence

from .errors import DataError
from .jsonl import iter_jsonl
from .pool import RetrievalPool
from .retrieval_data import CORPUS_MODES, RetrievalData

logger = logging.getLogger(__name__)

__all__ = ["is_beir_dir", "load_beir", "load_beir_pool"]

_QRELS_HEADERS = ("query-id", "query_id", "qid")


def is_beir_dir(path: str | os.PathLike) -> bool:
    """Whether ``path`` holds ``corpus.jsonl`` and ``queries.jsonl`` (a BEIR directory)."""
    p = Path(path)
    return (p / "corpus.jsonl").is_file() and (p / "queries.jsonl").is_file()


def _read_records(path: Path) -> list[dict[str, Any]]:
    """The objects of a BEIR JSONL file; each must have an ``_id``."""
    rows = []
    for n, row in iter_jsonl(path):
        if "_id" not in row:
            raise DataError(f"{path}: line {n}: expected an object with an '_id' field (BEIR format).")
        rows.append(row)
    return rows


def _read_qrels(path: Path) -> dict[str, dict[str, float]]:
    """``query id -> {document id: score}`` from a BEIR qrels TSV (an optional header line is skipped)."""
    judged: dict[str, dict[str, float]] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for n, rec in enumerate(csv.reader(fh, delimiter="\t"), 1):
            if not rec or (n == 1 and rec[0].strip().lower() in _QRELS_HEADERS):
                continue
            if len(rec) < 3:
                raise DataError(f"{path}:{n}: expected 3 tab-separated columns query-id, corpus-id, score; got {rec}")
            try:
                score = float(rec[2])
            except ValueError:
                raise DataError(f"{path}:{n}: score {rec[2]!r} is not a number.") from None
            judged.setdefault(rec[0], {})[rec[1]] = score
    return judged


def _lang_of(row: dict[str, Any]) -> str:
    return str(row.get("lang") or row.get("language") or "und")


def load_beir_pool(path: str | os.PathLike, split: str = "test",
                   languages: Sequence[str] | None = None) -> RetrievalPool:
    """A BEIR directory (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``) as a :class:`RetrievalPool`.

    Queries are those listed in the qrels; a query's group is its id and a document's groups are the ids
    of the queries that judge it relevant (score > 0). Languages come from a ``lang``/``language`` field
    when present, else ``"und"``; ``languages`` keeps only the queries and documents in those.
    """
    root = Path(path)
    corpus_file, queries_file = root / "corpus.jsonl", root / "queries.jsonl"
    qrels_file = root / "qrels" / f"{split}.tsv"
    for f in (corpus_file, queries_file, qrels_file):
        if not f.is_file():
            available = sorted(p.stem for p in (root / "qrels").glob("*.tsv")) if (root / "qrels").is_dir() else []
            raise DataError(f"{f} not found: a BEIR directory needs corpus.jsonl, queries.jsonl and qrels/<split>.tsv"
                            + (f" (available splits: {available})" if available else ""))
    corpus = _read_records(corpus_file)
    queries = {str(r["_id"]): r for r in _read_records(queries_file)}
    judged = _read_qrels(qrels_file)
    missing = [q for q in judged if q not in queries]
    if missing:
        raise DataError(f"{qrels_file}: {len(missing)} query id(s) not in {queries_file}, e.g. {missing[:3]}.")
    known = {str(r["_id"]) for r in corpus}
    groups: dict[str, list[str]] = {}
    unknown_docs = 0
    for qid, docs in judged.items():
        for did, score in docs.items():
            if score > 0:
                if did in known:
                    groups.setdefault(did, []).append(qid)
                else:
                    unknown_docs += 1
    if unknown_docs:
        logger.warning("%s: %d relevance judgement(s) point to documents missing from corpus.jsonl; ignored.",
                       qrels_file, unknown_docs)
    keep_lang = None if languages is None else set(languages)
    q_rows = [queries[q] for q in judged if keep_lang is None or _lang_of(queries[q]) in keep_lang]
    c_rows = [r for r in corpus if keep_lang is None or _lang_of(r) in keep_lang]
    if not q_rows or not c_rows:
        raise DataError(f"{root}: no {'queries' if not q_rows else 'documents'} left"
                        + (f" for languages {sorted(keep_lang)}" if keep_lang else "") + ".")
    return RetrievalPool(
        query_ids=[str(r["_id"]) for r in q_rows], query_groups=[str(r["_id"]) for r in q_rows],
        query_langs=[_lang_of(r) for r in q_rows], query_texts=[str(r.get("text", "")) for r in q_rows],
        cand_ids=[str(r["_id"]) for r in c_rows],
        cand_groups=[tuple(groups.get(str(r["_id"]), ())) for r in c_rows],
        cand_langs=[_lang_of(r) for r in c_rows],
        cand_texts=[(str(r.get("title") or "") + " " + str(r.get("text") or "")).strip() for r in c_rows],
        name=f"{root.name}-{split}", meta={"format": "beir", "split": split, "path": str(root)},
    )


def load_beir(path: str | os.PathLike, split: str = "test", languages: Sequence[str] | None = None,
              corpus: str = "full") -> RetrievalData:
    """A BEIR directory as :class:`RetrievalData`: the queries judged in ``qrels/<split>.tsv`` (as in
    :func:`load_beir_pool`), their qrels as integer grades, and the corpus (``corpus="full"``, ``"ids"`` or
    ``"none"``). Judgements of documents missing from ``corpus.jsonl`` are dropped with a warning."""
    if corpus not in CORPUS_MODES:
        raise DataError(f"corpus must be one of {CORPUS_MODES}, got {corpus!r}.")
    root = Path(path)
    queries_file, qrels_file = root / "queries.jsonl", root / "qrels" / f"{split}.tsv"
    for f in ([] if corpus == "none" else [root / "corpus.jsonl"]) + [queries_file, qrels_file]:
        if not f.is_file():
            raise DataError(f"{f} not found: a BEIR directory needs corpus.jsonl, queries.jsonl and qrels/<split>.tsv.")
    queries = {str(r["_id"]): r for r in _read_records(queries_file)}
    qrels: dict[str, dict[str, int]] = {}
    for qid, judged in _read_qrels(qrels_file).items():
        if qid not in queries:
            raise DataError(f"{qrels_file}: query id {qid!r} not in {queries_file}.")
        for did, score in judged.items():
            if not float(score).is_integer():
                raise DataError(f"{qrels_file}: query {qid!r}, doc {did!r}: score {score} is not an integer grade.")
            qrels.setdefault(qid, {})[did] = int(score)
    docs: dict[str, Any] = {}
    if corpus != "none":
        rows = _read_records(root / "corpus.jsonl")
        docs = {"doc_ids": [str(r["_id"]) for r in rows], "doc_langs": [_lang_of(r) for r in rows]}
        if corpus == "full":
            docs.update(doc_titles=[str(r.get("title") or "") for r in rows],
                        doc_texts=[str(r.get("text") or "") for r in rows])
        known = set(docs["doc_ids"])
        unknown = sum(d not in known for judged in qrels.values() for d in judged)
        if unknown:
            logger.warning("%s: %d judgement(s) point to documents missing from corpus.jsonl; ignored.",
                           qrels_file, unknown)
            qrels = {q: {d: r for d, r in judged.items() if d in known} for q, judged in qrels.items()}
    data = RetrievalData(query_ids=list(qrels), query_texts=[str(queries[q].get("text", "")) for q in qrels],
                         query_langs=[_lang_of(queries[q]) for q in qrels], qrels=qrels, name=f"{root.name}-{split}",
                         meta={"format": "beir", "split": split, "path": str(root)}, **docs)
    return data if languages is None else data.select_languages(languages)
