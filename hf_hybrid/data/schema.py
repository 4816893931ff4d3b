"""The canonical form of parallel data: its columns, its validation, and canonicalisation of any table.

Hybrid batch sampling needs to know, for every question, which languages it exists in, so every source
is normalised into one ``datasets.Dataset`` with one row per (group, language): ``group_id`` (str),
``lang`` (str), ``query`` (str), ``positive`` (str), optional ``negatives`` (list[str]) and ``article``
(str, the unit of train/test splits). The schema and its rules are in ``docs/design.md``, section 1.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import datasets

from .errors import DataError

__all__ = ["OPTIONAL_COLUMNS", "REQUIRED_COLUMNS", "canonicalise", "check_languages", "validate_parallel"]

REQUIRED_COLUMNS = ("group_id", "lang", "query", "positive")
OPTIONAL_COLUMNS = ("negatives", "article")


def _row_label(source: str, i: int, file_format: str | None) -> str:
    """Where row ``i`` is, in the words of its file type (JSONL rows and CSV lines count from 1)."""
    if file_format == "jsonl":
        return f"{source}: row {i + 1}"  # blank lines aside, row i+1 is line i+1
    if file_format == "csv":
        return f"{source}: line {i + 2}"  # header is line 1
    return f"{source}: row {i}"


def validate_parallel(dataset: datasets.Dataset, source: str = "dataset", file_format: str | None = None) -> None:
    """Check the canonical schema: required columns, non-empty texts, one row per (group, language).

    Args:
        dataset: the table to check.
        source: its name in error messages (a file path, or ``"dataset"``).
        file_format: ``"jsonl"``, ``"csv"`` or ``None``: how a row index is turned into a position in messages.

    Raises:
        DataError: the first violation found.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in dataset.column_names]
    if missing:
        raise DataError(f"{source}: missing column(s) {missing}; found {dataset.column_names}. "
                        "Rename them, or pass column_mapping={'your_column': 'query', ...}.")
    if len(dataset) == 0:
        raise DataError(f"{source}: no rows.")
    cols = dataset.select_columns(list(REQUIRED_COLUMNS)).to_dict()
    seen: dict[tuple[str, str], int] = {}
    for i in range(len(dataset)):
        for c in REQUIRED_COLUMNS:
            v = cols[c][i]
            if v is None or not str(v).strip():
                raise DataError(f"{_row_label(source, i, file_format)}: empty '{c}'. Fill it or drop the row.")
        key = (str(cols["group_id"][i]), str(cols["lang"][i]))
        if key in seen:
            raise DataError(f"{_row_label(source, i, file_format)}: duplicate (group_id, lang) = {key}, first seen at "
                            f"{_row_label(source, seen[key], file_format).split(': ')[-1]}. Each question may appear once "
                            "per language; give translations the same group_id and different lang.")
        seen[key] = i
    if "negatives" in dataset.column_names:
        for i, negs in enumerate(dataset["negatives"]):
            if negs is None:
                continue
            if not isinstance(negs, list) or not all(isinstance(n, str) and n.strip() for n in negs):
                raise DataError(f"{_row_label(source, i, file_format)}: 'negatives' must be a list of non-empty strings.")


def canonicalise(dataset: datasets.Dataset, source: str, file_format: str | None,
                 column_mapping: Mapping[str, str] | None) -> datasets.Dataset:
    """Rename columns, validate, type ``group_id``/``lang`` as strings, add ``article``, drop other columns.

    Without an ``article`` column each group is its own article: splits stay group-level, so no
    translation of a test question leaks into training.
    """
    if column_mapping:
        absent = [c for c in column_mapping if c not in dataset.column_names]
        if absent:
            raise DataError(f"{source}: column_mapping names column(s) {absent} that do not exist; "
                            f"found {dataset.column_names}.")
        dataset = dataset.rename_columns(dict(column_mapping))
    validate_parallel(dataset, source, file_format)
    for c in ("group_id", "lang"):
        if dataset.features[c].dtype != "string":
            dataset = dataset.cast_column(c, datasets.Value("string"))
    if "article" not in dataset.column_names:
        dataset = dataset.add_column("article", list(dataset["group_id"]))
    keep = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in dataset.column_names]
    return dataset.select_columns(keep)


def check_languages(languages: Sequence[str], available: Iterable[str], source: str) -> None:
    """Check a user's language list against the languages of the data (a list, non-empty, all known)."""
    if isinstance(languages, str):
        raise DataError(f"{source}: languages must be a list such as ['en', 'de'], not the string {languages!r}.")
    avail = sorted(set(available))
    unknown = [l for l in languages if l not in avail]  # noqa: E741
    if unknown:
        raise DataError(f"{source}: unknown language(s) {unknown}; available: {avail}.")
    if not languages:
        raise DataError(f"{source}: empty language list; pass at least one of {avail}.")
