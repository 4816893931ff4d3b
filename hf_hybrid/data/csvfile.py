"""The one CSV reader of the package: every value a string, errors with file, line and field.

A CSV file has no types, so none are guessed: ``01`` and ``1`` are two different ids, and ``NA`` is the
text ``NA`` (``docs/design.md``, section 1). Positions are *physical* lines: a record whose quoted field
spans several lines is counted from the line where it starts, so later records keep their true line
numbers. Blank lines are skipped, as by pandas.
"""

from __future__ import annotations

import csv
import os
from typing import Iterator

from .errors import DataError, non_utf8

__all__ = ["CsvTable", "read_csv", "record_lines"]


def _records(path: str | os.PathLike) -> Iterator[tuple[int, list[str]]]:
    """``(first line, fields)`` of every non-blank record (lines count from 1)."""
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        reader = csv.reader(fh, strict=True)
        end = 0
        while True:
            start = end + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                hint = ("a quoted field that starts here is never closed" if "end of data" in str(exc)
                        else "a quote inside a field must be doubled (\"\")")
                raise DataError(f"{path}: line {start}: malformed CSV ({exc}): {hint}. Fix the quoting of this "
                                "record.") from None
            end = reader.line_num
            if fields:
                yield start, fields


class CsvTable:
    """A CSV file read as strings: ``header``, ``rows`` (lists of strings) and ``lines`` (the line of each row)."""

    def __init__(self, header: list[str], rows: list[list[str]], lines: list[int]):
        self.header, self.rows, self.lines = header, rows, lines

    def column(self, name: str) -> list[str]:
        """The values of one column, in row order."""
        i = self.header.index(name)
        return [r[i] for r in self.rows]


def read_csv(path: str | os.PathLike) -> CsvTable:
    """Read a CSV file with a header line; every value is a string (an empty cell is ``""``).

    Raises:
        DataError: the file is empty, has a duplicate column name, a record with another number of fields
            than the header, broken quoting, or bytes that are not UTF-8; the message names the line (and the
            field, where there is one) and what to do.
    """
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    for line, fields in _records(path):
        if header is None:
            header = fields
            for i, name in enumerate(header):
                _check_utf8(path, line, name, f"column name {i + 1}")
                if name in header[:i]:
                    raise DataError(f"{path}: line {line}: column '{name}' appears twice in the header; "
                                    "rename one of them.")
            continue
        if len(fields) != len(header):
            raise DataError(f"{path}: line {line}: {len(fields)} field(s), but the header has {len(header)} "
                            f"({','.join(header)}). Quote values that hold commas or line breaks (\"a, b\"), "
                            "or fix this row.")
        here = line  # a quoted field may span lines: the bad byte's own line is reported
        for name, value in zip(header, fields):
            _check_utf8(path, here, value, f"field '{name}'")
            here += value.count("\n")
        rows.append(fields)
        lines.append(line)
    if header is None:
        raise DataError(f"{path}: the file is empty; expected a header line such as group_id,lang,query,positive "
                        "and one line per row.")
    return CsvTable(header, rows, lines)


def _check_utf8(path: str | os.PathLike, line: int, value: str, what: str) -> None:
    bad = non_utf8(value)
    if bad is not None:
        line += value[: bad[0]].count("\n")
        raise DataError(f"{path}: line {line}, {what}: not UTF-8 text (byte 0x{bad[1]:02x}). Re-encode the file as "
                        "UTF-8 (e.g. iconv -f latin1 -t utf-8).")


def record_lines(path: str | os.PathLike) -> list[int] | None:
    """The first line of every data record of a CSV file (the header excluded), or None if it cannot be read."""
    try:
        return [line for line, _ in _records(path)][1:]
    except (OSError, DataError):
        return None
