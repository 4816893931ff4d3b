"""The one JSONL reader of the package: one JSON object per line, errors with file and line.

Table files of pairs (:func:`hf_hybrid.data.load_pairs`) and BEIR directories
(:func:`hf_hybrid.data.load_beir_pool`) are both JSON Lines; reading them through one function keeps the
error messages alike (``<file>: line <n>, column <c>: malformed JSON ...``) wherever the file came from.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterator

from .errors import DataError

__all__ = ["iter_jsonl", "read_jsonl"]


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for every non-blank line of ``path`` (lines count from 1).

    Raises:
        DataError: a line is not valid JSON, or holds something other than a JSON object.
    """
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}: line {n}, column {exc.colno}: malformed JSON ({exc.msg}). "
                                "Each line must be one JSON object.") from None
            if not isinstance(obj, dict):
                raise DataError(f"{path}: line {n}: expected a JSON object, got {type(obj).__name__}.")
            yield n, obj


def read_jsonl(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Every object of a JSON Lines file, in order (blank lines are skipped; an empty file gives ``[]``)."""
    return [obj for _, obj in iter_jsonl(path)]
