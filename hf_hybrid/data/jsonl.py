"""The one JSONL reader of the package: one JSON object per line, errors with file and line.

Table files of pairs (:func:`hf_hybrid.data.load_pairs`) and BEIR directories
(:func:`hf_hybrid.data.load_beir_pool`) are both JSON Lines; reading them through one function keeps the
error messages alike (``<file>: line <n>, column <c>: malformed JSON ...``) wherever the file came from.
Bytes that are not UTF-8 are reported with their line, column and field, not as a bare ``UnicodeDecodeError``.
A path ending in ``.gz`` is read through ``gzip`` (corpora are often shipped as ``corpus.jsonl.gz``).
"""

from __future__ import annotations

import gzip
import json
import os
from typing import Any, Iterator

from .errors import DataError, non_utf8

__all__ = ["iter_jsonl", "read_jsonl"]


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for every non-blank line of ``path`` (lines count from 1).

    Raises:
        DataError: a line is not valid JSON or not UTF-8, or holds something other than a JSON object.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", errors="surrogateescape") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            if non_utf8(line) is not None:
                _not_utf8(path, n, line)
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}: line {n}, column {exc.colno}: malformed JSON ({exc.msg}). "
                                "Each line must be one JSON object.") from None
            if not isinstance(obj, dict):
                raise DataError(f"{path}: line {n}: expected a JSON object, got {type(obj).__name__}.")
            yield n, obj


def _not_utf8(path: str | os.PathLike, n: int, line: str) -> None:
    """Raise the error for a line holding bytes that are not UTF-8, naming the field when the line parses."""
    col, byte = non_utf8(line)
    field = ""
    try:
        obj = json.loads(line)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        bad = [k for k, v in obj.items() if non_utf8(json.dumps(v, ensure_ascii=False)) or non_utf8(k)]
        field = f", field '{bad[0]}'" if bad else ""
    raise DataError(f"{path}: line {n}, column {col + 1}{field}: not UTF-8 text (byte 0x{byte:02x}). Re-encode "
                    "the file as UTF-8 (e.g. iconv -f latin1 -t utf-8).")


def read_jsonl(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Every object of a JSON Lines file, in order (blank lines are skipped; an empty file gives ``[]``)."""
    return [obj for _, obj in iter_jsonl(path)]
