"""Relevance judgements (qrels) files: :func:`read_qrels` for TREC qrels and BEIR qrels TSV.

What: ``{query id: {doc id: relevance}}``, the qrels form that :func:`hf_hybrid.evaluation.topk.compute_topk_metrics`,
``ranx`` and ``pytrec_eval`` read (relevance > 0 is relevant; graded values are nDCG gains). Two layouts
are recognised from the number of fields of the first data line, and a file must keep one layout:

* TREC (MIRACL, TREC, Mr. TyDi): ``qid iteration docid relevance``, whitespace-separated (the second
  field, ``Q0`` or ``0``, is not used);
* BEIR: ``query-id<TAB>corpus-id<TAB>score``, with an optional header line.

Why by hand: ``ranx.Qrels.from_file`` reads both but reports a bad line without its number and keeps
floats; here every error names ``file:line`` and the field, and relevance must be an integer grade
(``"1"`` or ``"1.0"``), so a shifted column (a doc id read as a grade) is caught, not averaged.

Example::

    qrels = read_qrels("qrels.miracl-v1.0-de-dev.tsv")   # {"0": {"2330#3": 1, "5011#0": 0, ...}, ...}
"""

from __future__ import annotations

import os
from typing import Iterator

from .errors import DataError, non_utf8

__all__ = ["read_qrels"]

_BEIR_HEADERS = ("query-id", "query_id", "qid")


def _lines(path: str | os.PathLike) -> Iterator[tuple[int, str]]:
    with open(path, encoding="utf-8-sig", errors="surrogateescape") as fh:
        for n, line in enumerate(fh, start=1):
            if line.strip():
                bad = non_utf8(line)
                if bad is not None:
                    raise DataError(f"{path}:{n}: column {bad[0] + 1}: not UTF-8 text (byte 0x{bad[1]:02x}). "
                                    "Re-encode the file as UTF-8.")
                yield n, line.rstrip("\r\n")


def _grade(text: str, where: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{where}: field 'relevance' is {text!r}, not a number; expected an integer grade "
                        "(0 = not relevant, 1 or more = relevant). Is a column missing?") from None
    if not value.is_integer():
        raise DataError(f"{where}: field 'relevance' is {text!r}, not an integer grade.")
    return int(value)


def read_qrels(path: str | os.PathLike) -> dict[str, dict[str, int]]:
    """``{qid: {docid: relevance}}`` from a TREC qrels file or a BEIR qrels TSV (see the module docstring).

    Judgements of one query keep file order; the same ``(qid, docid)`` twice with different grades is an error.

    Raises:
        DataError: the file is missing, a line has the wrong number of fields or mixes layouts, a grade is
            not an integer, or a pair is judged twice with different grades (``file:line`` in the message).
    """
    if not os.path.isfile(path):
        raise DataError(f"{path}: qrels file not found (expected TREC 'qid Q0 docid rel' or BEIR "
                        "'query-id<TAB>corpus-id<TAB>score' lines).")
    qrels: dict[str, dict[str, int]] = {}
    layout = None
    for n, line in _lines(path):
        where = f"{path}:{n}"
        tabbed = line.split("\t")
        fields = tabbed if len(tabbed) == 3 else line.split()
        if layout is None:
            if len(fields) == 3 and fields[0].strip().lower() in _BEIR_HEADERS:
                layout = "beir"
                continue
            if len(fields) not in (3, 4):
                raise DataError(f"{where}: expected 4 fields 'qid Q0 docid relevance' (TREC) or 3 tab-separated "
                                f"fields 'query-id corpus-id score' (BEIR), got {len(fields)}: {line[:120]!r}.")
            layout = "trec" if len(fields) == 4 else "beir"
        want = 4 if layout == "trec" else 3
        if len(fields) != want:
            raise DataError(f"{where}: {len(fields)} fields, but this file is {layout.upper()} qrels with {want} "
                            f"fields per line: {line[:120]!r}.")
        qid, docid, grade_text = (fields[0], fields[2], fields[3]) if layout == "trec" else fields
        qid, docid = qid.strip(), docid.strip()
        if not qid or not docid:
            raise DataError(f"{where}: field '{'qid' if not qid else 'docid'}' is empty.")
        grade = _grade(grade_text.strip(), where)
        judged = qrels.setdefault(qid, {})
        if judged.get(docid, grade) != grade:
            raise DataError(f"{where}: query {qid!r}, doc {docid!r} is judged {grade} here and "
                            f"{judged[docid]} on an earlier line; keep one judgement per pair.")
        judged[docid] = grade
    return qrels
