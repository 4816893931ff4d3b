"""The canonical form of parallel data: its columns, its validation, and canonicalisation of any table.

Hybrid batch sampling needs to know, for every question, which languages it exists in, so every source
is normalised into one ``datasets.Dataset`` with one row per (group, language): ``group_id`` (str),
``lang`` (str), ``query`` (str), ``positive`` (str), optional ``negatives`` (list[str]) and ``article``
(str, the unit of train/test splits). The schema and its rules are in ``docs/design.md``, section 1.

Ids are text: ``group_id``, ``lang`` and ``article`` are strings (an integer id such as ``17`` is the
string ``"17"``; nothing is ever parsed as a number, so ``"01"`` and ``"1"`` are two groups). Language codes
are compared case-blind: :func:`normalise_lang` strips and lower-cases the whole code (``EN`` -> ``en``,
``pt-BR`` -> ``pt-br``, ``zh-Hans`` -> ``zh-hans``; BCP-47 says case carries no meaning, and one spelling
is what lets a code match across files and configs). A code that does not look like BCP-47 (``english``,
``en_US``) is kept as given, with one :class:`DataWarning` per code.
"""

from __future__ import annotations

import os
import re
import warnings
from typing import Any, Iterable, Mapping, Sequence

import datasets

from .csvfile import record_lines
from .errors import DataError, DataWarning

__all__ = [
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "Positions",
    "canonicalise",
    "check_columns",
    "check_languages",
    "check_value",
    "is_language_code",
    "normalise_lang",
    "validate_parallel",
]

REQUIRED_COLUMNS = ("group_id", "lang", "query", "positive")
OPTIONAL_COLUMNS = ("negatives", "article")
_ID_COLUMNS = ("group_id", "lang", "article")
_LANG_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")


def normalise_lang(code: str) -> str:
    """The one spelling of a language code: stripped and lower-cased (``" EN"`` -> ``"en"``)."""
    return code.strip().lower()


def is_language_code(code: str) -> bool:
    """Whether ``code`` looks like a BCP-47 code (``en``, ``yue``, ``zh-hans``, ``pt-BR``; ``und`` included)."""
    return bool(_LANG_CODE.match(normalise_lang(code)))


class Positions:
    """Where row ``i`` is, in the words of its file type: JSONL rows and CSV lines count from 1.

    ``lines`` is the line of every row when the reader knows it; without it a JSONL row ``i`` is taken to be
    on line ``i + 1`` and a CSV row's line is read from the file ``source`` (once, on the first error), so a
    quoted field spanning several lines does not shift the lines of later rows.
    """

    def __init__(self, source: str, file_format: str | None, n_rows: int, lines: Sequence[int] | None = None):
        self.source, self.file_format, self.n_rows, self.lines = source, file_format, n_rows, lines

    def position(self, i: int) -> str:
        if self.file_format == "jsonl":
            line = self.lines[i] if self.lines is not None else i + 1
            return f"row {i + 1}" if line == i + 1 else f"row {i + 1} (line {line})"
        if self.file_format == "csv":
            if self.lines is None and os.path.isfile(self.source):
                found = record_lines(self.source)
                self.lines = found if found is not None and len(found) == self.n_rows else None
            return f"line {self.lines[i] if self.lines is not None else i + 2}"  # header is line 1
        return f"row {i}"

    def __call__(self, i: int) -> str:
        return f"{self.source}: {self.position(i)}"


def check_value(column: str, value: Any, field: str | None = None) -> Any:
    """One value of a canonical column, type-checked: ids as strings, texts strings, negatives a list of strings.

    ``None`` passes (an empty required value is reported by :func:`validate_parallel`); ``field`` is the
    column's name in the source when ``column_mapping`` renamed it.

    Raises:
        DataError: the value has another type; the message names the field (no position: callers add it).
    """
    if value is None:
        return None
    name = f"'{column}'" if field in (None, column) else f"'{field}' (mapped to '{column}')"
    got = f"{type(value).__name__} {value!r:.60}"
    if column == "negatives":
        if isinstance(value, list) and all(isinstance(n, str) for n in value):
            return value
        raise DataError(f"{name} must be a list of strings such as [\"a wrong passage\"], or null; got {got}.")
    if isinstance(value, str):
        return value
    if column in _ID_COLUMNS and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    want = "a string or an integer" if column in _ID_COLUMNS else "a string"
    raise DataError(f"{name} must be {want}, got {got}. Write it as text (in JSON: in double quotes).")


def check_columns(found: Sequence[str], source: str, column_mapping: Mapping[str, str] | None = None) -> list[str]:
    """The column names after ``column_mapping``; errors for mapped names that do not exist, and missing columns."""
    names = list(found)
    if column_mapping:
        absent = [c for c in column_mapping if c not in found]
        if absent:
            raise DataError(f"{source}: column_mapping names column(s) {absent} that do not exist; found {names}.")
        names = [column_mapping.get(c, c) for c in found]
        twice = sorted({c for c in names if names.count(c) > 1})
        if twice:
            raise DataError(f"{source}: after column_mapping, column(s) {twice} appear twice; found {names}. "
                            "Map one of them elsewhere.")
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise DataError(f"{source}: missing column(s) {missing}; found {names}. "
                        "Rename them, or pass column_mapping={'your_column': 'query', ...}.")
    return names


def validate_parallel(dataset: datasets.Dataset, source: str = "dataset", file_format: str | None = None,
                      lines: Sequence[int] | None = None) -> None:
    """Check the canonical schema: required columns, non-empty texts, one row per (group, language).

    Also: texts are strings and ids strings or integers; one ``article`` per group (translations of a
    question on both sides of a split would leak); ``negatives`` lists of non-empty strings.

    Args:
        dataset: the table to check.
        source: its name in error messages (a file path, or ``"dataset"``).
        file_format: ``"jsonl"``, ``"csv"`` or ``None``: how a row index is turned into a position in messages.
        lines: the line of every row, when the reader knows it (see :class:`Positions`).

    Raises:
        DataError: the first violation found.
    """
    check_columns(dataset.column_names, source)
    if len(dataset) == 0:
        raise DataError(f"{source}: no rows.")
    at = Positions(source, file_format, len(dataset), lines)
    has_article = "article" in dataset.column_names
    cols = dataset.select_columns(list(REQUIRED_COLUMNS) + (["article"] if has_article else [])).to_dict()
    seen: dict[tuple[str, str], int] = {}
    article_of: dict[str, int] = {}
    for i in range(len(dataset)):
        for c in (*REQUIRED_COLUMNS, *(("article",) if has_article else ())):
            v = cols[c][i]
            if c != "article" and (v is None or not str(v).strip()):
                raise DataError(f"{at(i)}: empty '{c}'. Fill it or drop the row.")
            try:
                check_value(c, v)
            except DataError as exc:
                raise DataError(f"{at(i)}: {exc}") from None
        group = str(cols["group_id"][i])
        key = (group, normalise_lang(str(cols["lang"][i])))
        if key in seen:
            raise DataError(f"{at(i)}: duplicate (group_id, lang) = {key}, first seen at {at.position(seen[key])}. "
                            "Each question may appear once per language; give translations the same group_id and "
                            "different lang.")
        seen[key] = i
        if has_article and _given(cols["article"][i]):
            first = article_of.setdefault(group, i)
            if str(cols["article"][first]) != str(cols["article"][i]):
                raise DataError(f"{at(i)}: group_id {group!r} has article {str(cols['article'][i])!r}, but "
                                f"{at.position(first)} gives it {str(cols['article'][first])!r}. All translations of "
                                "a question share one article (the split unit), or they would land on both sides "
                                "of a train/test split; give them the same article.")
    if "negatives" in dataset.column_names:
        for i, negs in enumerate(dataset["negatives"]):
            if negs is None:
                continue
            if not isinstance(negs, list) or not all(isinstance(n, str) and n.strip() for n in negs):
                raise DataError(f"{at(i)}: 'negatives' must be a list of non-empty strings.")


def _given(article: Any) -> bool:
    return article is not None and bool(str(article).strip())


def canonicalise(dataset: datasets.Dataset, source: str, file_format: str | None,
                 column_mapping: Mapping[str, str] | None, lines: Sequence[int] | None = None) -> datasets.Dataset:
    """Rename columns, validate, type ids as strings, normalise language codes, add ``article``, drop the rest.

    A row without an ``article`` takes the article of its group's other rows, and a group without any is
    its own article: splits stay group-level, so no translation of a test question leaks into training.
    Language codes that are not BCP-47-like give one :class:`DataWarning` each.
    """
    if column_mapping:
        check_columns(dataset.column_names, source, column_mapping)
        dataset = dataset.rename_columns(dict(column_mapping))
    validate_parallel(dataset, source, file_format, lines)
    for c in ("group_id", "lang"):
        if dataset.features[c].dtype != "string":
            dataset = dataset.cast_column(c, datasets.Value("string"))
    langs = [normalise_lang(code) for code in dataset["lang"]]
    if langs != list(dataset["lang"]):
        dataset = dataset.remove_columns("lang").add_column("lang", langs)
    for code in sorted(set(langs)):
        if not is_language_code(code):
            warnings.warn(f"{source}: language code {code!r} does not look like a BCP-47 code (such as 'en', 'de', "
                          "'pt-br', 'zh-hans'); it is kept as is. Use the same codes in every file and config.",
                          DataWarning, stacklevel=2)
    groups = list(dataset["group_id"])
    given = list(dataset["article"]) if "article" in dataset.column_names else [None] * len(groups)
    article_of: dict[str, str] = {}
    for g, a in zip(groups, given):
        if _given(a):
            article_of.setdefault(g, str(a))
    articles = [article_of.get(g, g) for g in groups]
    if "article" not in dataset.column_names:
        dataset = dataset.add_column("article", articles)
    elif articles != given:
        dataset = dataset.remove_columns("article").add_column("article", articles)
    keep = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in dataset.column_names]
    return dataset.select_columns(keep)


def check_languages(languages: Sequence[str], available: Iterable[str], source: str) -> None:
    """Check a user's language list against the languages of the data (a list, non-empty, all known)."""
    if isinstance(languages, str):
        raise DataError(f"{source}: languages must be a list such as ['en', 'de'], not the string {languages!r}.")
    avail = sorted(set(available))
    unknown = [l for l in languages if l not in avail]  # noqa: E741
    if unknown:
        hint = ""
        if all(normalise_lang(l) in avail for l in unknown):  # noqa: E741
            hint = f" Language codes are lower-case in the data: use {[normalise_lang(l) for l in unknown]}."
        raise DataError(f"{source}: unknown language(s) {unknown}; available: {avail}.{hint}")
    if not languages:
        raise DataError(f"{source}: empty language list; pass at least one of {avail}.")
