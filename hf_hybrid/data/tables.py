"""Table files and ``datasets`` datasets as canonical pairs: :func:`load_pairs`.

Data that is not in the LAReQA layout arrives as a table: a JSONL, Parquet or CSV file, or any
``datasets`` dataset. A ``column_mapping`` renames its columns to the canonical ones (``docs/design.md``,
section 1), and the result is validated row by row, with positions counted the way the file type counts
them (JSONL rows, CSV lines).

Files are read without guessing: the columns of a JSONL file are those of *all* its rows (a key that the
first row lacks is not dropped; a row without an optional value gets null), every CSV value is a string
(``01`` stays ``01``), and a value of the wrong type is reported with its file, position and field.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import datasets

from .csvfile import read_csv
from .errors import DataError
from .jsonl import iter_jsonl
from .schema import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    Positions,
    canonicalise,
    check_columns,
    check_value,
)

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
    if file_format == "parquet":
        return canonicalise(datasets.Dataset.from_parquet(str(path)), str(path), file_format, column_mapping)
    if file_format == "jsonl":
        records = list(iter_jsonl(path))
        if not records:
            raise DataError(f"{path}: the file holds no rows.")
        lines = [n for n, _ in records]
        objs = [obj for _, obj in records]
        found = list(dict.fromkeys(k for obj in objs for k in obj))  # the keys of every row, not of row 1

        def values(field: str) -> list[Any]:
            return [obj.get(field) for obj in objs]
    else:
        table = read_csv(path)
        found, lines = table.header, table.lines

        def values(field: str) -> list[Any]:
            return [v if v != "" else None for v in table.column(field)]  # an empty cell is a missing value
    names = check_columns(found, str(path), column_mapping)
    wanted = [(c, f) for f, c in zip(found, names) if c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)]
    columns = {c: values(f) for c, f in wanted}
    at = Positions(str(path), file_format, len(lines), lines)
    for i in range(len(lines)):
        for c, f in wanted:
            if file_format == "csv" and c == "negatives" and columns[c][i] is not None:
                raise DataError(f"{at(i)}: field '{f}': a CSV cell cannot hold a list of hard negatives. Leave it "
                                "empty, or use a JSONL or Parquet file for negatives.")
            try:
                columns[c][i] = check_value(c, columns[c][i], f)
            except DataError as exc:
                raise DataError(f"{at(i)}: {exc}") from None
    features = datasets.Features({c: _FEATURES[c] for c in columns})
    ds = datasets.Dataset.from_dict(columns, features=features)
    return canonicalise(ds, str(path), file_format, None, lines)


_FEATURES = {**{c: datasets.Value("string") for c in ("group_id", "lang", "query", "positive", "article")},
             "negatives": datasets.Sequence(datasets.Value("string"))}
