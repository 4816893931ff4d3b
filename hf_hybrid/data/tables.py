"""Table files and ``datasets`` datasets as canonical pairs: :func:`load_pairs`.

Data that is not in the LAReQA layout arrives as a table: a JSONL, Parquet or CSV file, or any
``datasets`` dataset. A ``column_mapping`` renames its columns to the canonical ones (``docs/design.md``,
section 1), and the result is validated row by row, with positions counted the way the file type counts
them (JSONL rows, CSV lines).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import datasets

from .errors import DataError
from .jsonl import read_jsonl
from .schema import canonicalise

__all__ = ["TEXT_SUFFIXES", "load_pairs"]

#: File suffix -> file format understood by :func:`load_pairs`.
TEXT_SUFFIXES = {".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet", ".csv": "csv"}


def load_pairs(
    source: str | os.PathLike | datasets.Dataset | datasets.DatasetDict,
    column_mapping: Mapping[str, str] | None = None,
    split: str = "train",
) -> datasets.Dataset:
    """Load canonical pairs from a JSONL / Parquet / CSV file or any ``datasets`` dataset.

    ``column_mapping`` renames source columns to the canonical names, e.g.
    ``{"question": "query", "answer": "positive", "language": "lang", "qid": "group_id"}``; ``split``
    picks the split of a ``DatasetDict``.
    """
    if isinstance(source, datasets.DatasetDict):
        if split not in source:
            raise DataError(f"DatasetDict has no split '{split}'; it has {list(source)}.")
        source = source[split]
    if isinstance(source, datasets.Dataset):
        return canonicalise(source, "dataset", None, column_mapping)
    path = Path(source)
    if not path.is_file():
        raise DataError(f"{path}: no such file.")
    file_format = TEXT_SUFFIXES.get(path.suffix.lower())
    if file_format is None:
        raise DataError(f"{path}: unsupported file type '{path.suffix}'. Use .jsonl, .parquet or .csv, "
                        "or a LAReQA directory.")
    if file_format == "jsonl":
        rows = read_jsonl(path)
        if not rows:
            raise DataError(f"{path}: the file holds no rows.")
        ds = datasets.Dataset.from_list(rows)
    elif file_format == "parquet":
        ds = datasets.Dataset.from_parquet(str(path))
    else:
        ds = datasets.Dataset.from_csv(str(path))
    return canonicalise(ds, str(path), file_format, column_mapping)
