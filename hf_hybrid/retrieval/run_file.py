"""A run: the top-k candidates of every query, best first, and its TREC run file.

What: :class:`Run` holds, per query, the ranked document ids and their scores (what
:func:`hf_hybrid.retrieval.search.search` returns and what the top-k metrics of
:mod:`hf_hybrid.evaluation.topk` read, through :meth:`Run.to_dict` or the duck type). :func:`write_trec_run`
and :func:`read_trec_run` store it in the TREC run format that ``trec_eval``, ``ranx``, ``pytrec_eval``,
Anserini and Pyserini all read: one line per (query, document), six whitespace-separated fields::

    qid Q0 docid rank score tag
    q1 Q0 d17 1 0.8125 hf-hybrid

Why by hand: ``ranx.Run.from_file`` reads the format but keeps only ``{qid: {docid: score}}``, loses the tie
order of equal scores and reports a malformed line without its line number; this module is ~150 lines and
keeps both (scores are written with ``repr`` so a write/read round trip gives the same floats bit for bit).

Rules (each broken rule is a :class:`~hf_hybrid.data.errors.DataError` naming ``file:line``):

* writing: ids and the tag must be non-empty and hold no whitespace (a space would shift the fields);
  scores finite and non-increasing within a query; no document twice in a query. Ranks are written 1..n.
  A query with no candidates has no line (TREC cannot say "no candidates"), so it does not come back.
* reading: 6 fields, ``Q0`` is not checked (tools write ``Q0``, ``0`` or ``iter``), integer rank, finite
  float score, no ``(qid, docid)`` twice, ranks strictly increasing and scores non-increasing within a query
  in file order. Queries keep the order of their first line; the tag of the first line becomes
  :attr:`Run.name`.

Example::

    run = Run(["q1"], [["d2", "d1"]], [[0.9, 0.5]])
    write_trec_run(run, "run.trec")
    assert read_trec_run("run.trec") == run
    run.to_dict()   # {"q1": {"d2": 0.9, "d1": 0.5}}, the ranx / pytrec_eval form

References: the TREC run format (https://trec.nist.gov/trec_eval/), ``ranx.Run``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from hf_hybrid.checkpoint.atomic import atomic_write_bytes
from hf_hybrid.data.errors import DataError

__all__ = ["Run", "read_trec_run", "write_trec_run"]


@dataclass
class Run:
    """Top-k candidates per query, best first.

    Args:
        query_ids: the queries, in order.
        doc_ids: ``doc_ids[i]`` the candidates of ``query_ids[i]``, best first (at most k of them).
        scores: the same shape as ``doc_ids``; non-increasing within a query. Equal scores keep the list
            order, which :mod:`hf_hybrid.retrieval.search` makes deterministic (document order ascending).
        name: the run tag (the sixth TREC field).
    """

    query_ids: list[str]
    doc_ids: list[list[str]]
    scores: list[list[float]]
    name: str = "hf-hybrid"

    def __post_init__(self) -> None:
        if not (len(self.query_ids) == len(self.doc_ids) == len(self.scores)):
            raise ValueError(f"Run: {len(self.query_ids)} query_ids, {len(self.doc_ids)} doc_ids lists and "
                             f"{len(self.scores)} scores lists; they must be equal.")
        for qid, docs, scores in zip(self.query_ids, self.doc_ids, self.scores):
            if len(docs) != len(scores):
                raise ValueError(f"Run: query {qid!r} has {len(docs)} doc ids but {len(scores)} scores.")

    def __len__(self) -> int:
        """The number of queries."""
        return len(self.query_ids)

    def to_dict(self) -> dict[str, dict[str, float]]:
        """``{qid: {docid: score}}``, the form of ``ranx.Run`` / ``pytrec_eval`` (dicts keep the rank order)."""
        return {q: {d: float(s) for d, s in zip(docs, scores)}
                for q, docs, scores in zip(self.query_ids, self.doc_ids, self.scores)}

    def top(self, k: int) -> "Run":
        """The same run cut to its first ``k`` candidates per query."""
        return Run(list(self.query_ids), [d[:k] for d in self.doc_ids], [s[:k] for s in self.scores], self.name)


def _check_token(value: str, what: str, where: str) -> None:
    if not isinstance(value, str) or not value or any(ch.isspace() for ch in value):
        raise DataError(f"{where}: {what} {value!r} is empty or holds whitespace, which the TREC run format "
                        "cannot store (fields are whitespace-separated). Rename it (e.g. replace spaces by '_').")


def write_trec_run(run: Run, path: str | os.PathLike) -> Path:
    """Write ``run`` to ``path`` in the TREC run format, atomically (ranks 1..n, scores via ``repr``).

    Raises:
        DataError: an id or the tag is empty or holds whitespace, a score is not finite, scores increase
            within a query, or a query lists a document twice; the message names the query and rank.
    """
    where = str(path)
    _check_token(run.name, "the run tag (Run.name)", where)
    lines: list[str] = []
    seen_queries: set[str] = set()
    for qid, docs, scores in zip(run.query_ids, run.doc_ids, run.scores):
        _check_token(qid, "query id", where)
        if qid in seen_queries:
            raise DataError(f"{where}: query {qid!r} appears twice in the run; merge its candidates first.")
        seen_queries.add(qid)
        seen: set[str] = set()
        previous = math.inf
        for rank, (doc, score) in enumerate(zip(docs, scores), start=1):
            at = f"{where}: query {qid!r}, rank {rank}"
            _check_token(doc, "doc id", at)
            score = float(score)
            if not math.isfinite(score):
                raise DataError(f"{at}: score {score} is not finite.")
            if score > previous:
                raise DataError(f"{at}: score {score!r} is higher than the previous rank's {previous!r}; a run "
                                "lists candidates best first (sort by score, descending).")
            if doc in seen:
                raise DataError(f"{at}: doc id {doc!r} appears twice for this query.")
            seen.add(doc)
            previous = score
            lines.append(f"{qid} Q0 {doc} {rank} {score!r} {run.name}\n")
    return atomic_write_bytes(path, "".join(lines).encode("utf-8"))


def read_trec_run(path: str | os.PathLike) -> Run:
    """Read a TREC run file back into a :class:`Run` (queries in order of first appearance, candidates by rank).

    Raises:
        DataError: ``<file>:<line>: <what is wrong>``: not 6 fields, a rank that is not an integer, a score
            that is not a finite float, a (query, doc) pair twice, a rank not above the previous rank of that
            query, or a score above the previous rank's.
    """
    order: dict[str, int] = {}
    doc_ids: list[list[str]] = []
    scores: list[list[float]] = []
    last_rank: list[int] = []
    seen: set[tuple[str, str]] = set()
    name = None
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            at = f"{path}:{n}"
            fields = line.split()
            if len(fields) != 6:
                raise DataError(f"{at}: expected 6 fields 'qid Q0 docid rank score tag', got {len(fields)}: "
                                f"{line.strip()[:120]!r}.")
            qid, _, doc, rank_text, score_text, tag = fields
            try:
                rank = int(rank_text)
            except ValueError:
                raise DataError(f"{at}: field 'rank' is {rank_text!r}, not an integer.") from None
            try:
                score = float(score_text)
            except ValueError:
                raise DataError(f"{at}: field 'score' is {score_text!r}, not a number.") from None
            if not math.isfinite(score):
                raise DataError(f"{at}: field 'score' is {score_text!r}, not a finite number.")
            if (qid, doc) in seen:
                raise DataError(f"{at}: doc {doc!r} appears twice for query {qid!r}; each (qid, docid) pair "
                                "must appear once.")
            seen.add((qid, doc))
            name = tag if name is None else name
            i = order.setdefault(qid, len(order))
            if i == len(doc_ids):
                doc_ids.append([])
                scores.append([])
                last_rank.append(rank - 1)
            if rank <= last_rank[i]:
                raise DataError(f"{at}: rank {rank} of query {qid!r} is out of order (the previous line of this "
                                f"query has rank {last_rank[i]}); list each query's candidates by rank, ascending.")
            if scores[i] and score > scores[i][-1]:
                raise DataError(f"{at}: score {score_text} of query {qid!r} at rank {rank} is higher than the "
                                f"previous rank's {scores[i][-1]!r}; ranks and scores disagree.")
            last_rank[i] = rank
            doc_ids[i].append(doc)
            scores[i].append(score)
    return Run(list(order), doc_ids, scores, name if name is not None else "hf-hybrid")
