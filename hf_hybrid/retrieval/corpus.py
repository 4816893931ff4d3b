"""A retrieval corpus (or a set of queries) as parallel lists: :class:`Corpus`, :func:`load_corpus`.

What: the rows a corpus-scale encoding run embeds, in the order of the source, with their ids and (when the
source has them) their languages. Why a type of its own rather than a :class:`~hf_hybrid.data.RetrievalPool`:
a corpus of millions of passages has no queries, groups or relevance attached; the embedding store
(:mod:`hf_hybrid.retrieval.shards`) only needs ids and texts, and records :meth:`Corpus.fingerprint` so that a
store is never resumed or searched against another corpus.

Sources (``load_corpus(path_or_name, ...)``):

- a JSON Lines file, plain or gzipped (``.jsonl``, ``.jsonl.gz``; ``.json`` is read as JSON Lines), read by the
  package's one JSONL reader :func:`hf_hybrid.data.iter_jsonl` (positions are file lines);
- a Parquet file (``.parquet``, read column-wise with ``pyarrow``; positions are 0-based rows);
- a directory written by ``datasets``' ``save_to_disk`` (a ``Dataset`` or a ``DatasetDict``: pick ``split``);
- the name of a ``datasets`` dataset on the Hub (``load_dataset(name, config_name, split=split)``).

Rules, each broken one a :class:`~hf_hybrid.data.DataError` naming the file, line/row and field: every row has
an id (a non-empty string, or an integer, taken as its decimal string; no line breaks, since the store writes
one id per line) and a text (a string; empty is allowed); ids are unique; ``lang`` is optional, but when the
field exists every row needs one. With ``title_field`` (BEIR's ``title``), the encoded text is
``f"{title} {text}".strip()``, the BEIR convention that :func:`hf_hybrid.data.load_beir_pool` also follows, so a
BEIR corpus embeds the same either way; a missing or null title counts as empty.

Example::

    corpus = load_corpus("scifact/corpus.jsonl", id_field="_id", title_field="title")
    len(corpus), corpus.ids[0], corpus.texts[0][:40], corpus.fingerprint()[:12]
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hf_hybrid.data import DataError, iter_jsonl

__all__ = ["Corpus", "load_corpus"]

#: the files ``datasets.save_to_disk`` writes into a ``Dataset`` / ``DatasetDict`` directory
_SAVED_DATASET_MARKERS = ("dataset_info.json", "state.json", "dataset_dict.json")


@dataclass
class Corpus:
    """Rows to embed, in source order: ``ids[i]`` names ``texts[i]`` (language ``langs[i]`` when known).

    ``source`` names where the rows came from (for messages and the store's manifest).
    """

    ids: list[str]
    texts: list[str]
    langs: list[str] | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.texts) or (self.langs is not None and len(self.langs) != len(self.ids)):
            raise ValueError(f"Corpus: {len(self.ids)} ids, {len(self.texts)} texts and "
                             f"{None if self.langs is None else len(self.langs)} langs: the lists must be parallel")

    def __len__(self) -> int:
        return len(self.ids)

    def fingerprint(self) -> str:
        """sha256 over every (id, text) in order, length-prefixed: what the embeddings of a store depend on.

        Languages are left out (they do not change an embedding), the title is in (it is part of the text).
        """
        h = hashlib.sha256()
        for part in (s for pair in zip(self.ids, self.texts) for s in pair):
            b = part.encode("utf-8", errors="surrogatepass")
            h.update(len(b).to_bytes(8, "little"))
            h.update(b)
        return h.hexdigest()


@dataclass(frozen=True)
class _Fields:
    id: str
    text: str
    lang: str | None
    title: str | None


@dataclass(frozen=True)
class _Rows:
    """``n`` rows of a source: ``get(field, i)`` reads a value (None when absent), ``at(i)`` names row ``i``'s
    position (``"file: line 3"``), ``keys(i)`` its fields, ``present`` the fields any row has."""

    n: int
    get: Callable[[str, int], Any]
    at: Callable[[int], str]
    keys: Callable[[int], list[str]]
    present: set[str]
    source: str


def _id_of(rows: _Rows, i: int, field: str) -> str:
    value = rows.get(field, i)
    if value is None:
        raise DataError(f"{rows.at(i)}: field '{field}' (the id) is missing (the row has {rows.keys(i)}). Give every "
                        "row an id, or name the id field (--id_field, e.g. '_id' for BEIR, 'docid' for MIRACL).")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise DataError(f"{rows.at(i)}: field '{field}': the id is {type(value).__name__} {value!r}, expected a "
                        "string.")
    if not value or "\n" in value or "\r" in value:
        raise DataError(f"{rows.at(i)}: field '{field}': the id {value!r} is empty or holds a line break; ids must "
                        "be non-empty single-line strings.")
    return value


def _text_of(rows: _Rows, i: int, field: str, title_field: str | None) -> str:
    value = rows.get(field, i)
    if value is None:
        raise DataError(f"{rows.at(i)}: field '{field}' (the text) is missing (the row has {rows.keys(i)}). Give "
                        "every row a text, or name the text field (--text_field).")
    if not isinstance(value, str):
        raise DataError(f"{rows.at(i)}: field '{field}': the text is {type(value).__name__} {value!r:.60}, "
                        "expected a string.")
    if title_field is None:
        return value
    title = rows.get(title_field, i)
    if title is not None and not isinstance(title, str):
        raise DataError(f"{rows.at(i)}: field '{title_field}': the title is {type(title).__name__}, expected a "
                        "string.")
    return f"{title or ''} {value}".strip()


def _build(rows: _Rows, fields: _Fields) -> Corpus:
    """Validate the rows into a :class:`Corpus` (the checks of the module docstring)."""
    if rows.n == 0:
        raise DataError(f"{rows.source}: the corpus holds no rows.")
    ids, texts = [""] * rows.n, [""] * rows.n
    first: dict[str, int] = {}
    title = fields.title if fields.title is not None and fields.title in rows.present else None
    for i in range(rows.n):
        row_id = _id_of(rows, i, fields.id)
        if row_id in first:
            raise DataError(f"{rows.at(i)}: field '{fields.id}': duplicate id {row_id!r} (first at "
                            f"{rows.at(first[row_id]).rsplit(': ', 1)[-1]}). Ids must be unique: drop or rename one.")
        first[row_id] = i
        ids[i], texts[i] = row_id, _text_of(rows, i, fields.text, title)
    langs = None
    if fields.lang is not None and fields.lang in rows.present:
        langs = []
        for i in range(rows.n):
            lang = rows.get(fields.lang, i)
            if not isinstance(lang, str) or not lang:
                raise DataError(f"{rows.at(i)}: field '{fields.lang}': expected a language code string, got {lang!r}; "
                                "when the field exists every row needs one.")
            langs.append(lang)
    return Corpus(ids=ids, texts=texts, langs=langs, source=rows.source)


def _from_jsonl(path: Path, fields: _Fields) -> Corpus:
    try:
        records = list(iter_jsonl(path))
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{path}: not a complete gzip file ({exc}). Re-download or re-compress it.") from None
    present = {k for _, obj in records for k in obj}
    return _build(_Rows(len(records), lambda f, i: records[i][1].get(f), lambda i: f"{path}: line {records[i][0]}",
                        lambda i: sorted(records[i][1]), present, str(path)), fields)


def _from_columns(columns: dict[str, list[Any]], names: Sequence[str], fields: _Fields, source: str) -> Corpus:
    """Column-wise rows (Parquet, ``datasets``): a required column that is absent is named with the ones there."""
    for role, name in (("id", fields.id), ("text", fields.text)):
        if name not in names:
            raise DataError(f"{source}: no column '{name}' (the {role}); the columns are {list(names)}. Name it "
                            f"with --{role}_field.")
    return _build(_Rows(len(columns[fields.id]), lambda f, i: columns[f][i], lambda i: f"{source}: row {i}",
                        lambda i: list(names), set(columns), source), fields)


def _wanted(names: Sequence[str], fields: _Fields) -> list[str]:
    return [c for c in dict.fromkeys((fields.id, fields.text, fields.lang, fields.title)) if c and c in names]


def _from_parquet(path: Path, fields: _Fields) -> Corpus:
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
        table = pq.read_table(path, columns=_wanted(names, fields))
    except Exception as exc:  # pyarrow raises ArrowInvalid / OSError for a damaged file
        raise DataError(f"{path}: not a readable Parquet file ({exc}).") from None
    return _from_columns({c: table.column(c).to_pylist() for c in table.column_names}, names, fields, str(path))


def _from_dataset(ds: Any, split: str | None, fields: _Fields, source: str) -> Corpus:
    import datasets

    if isinstance(ds, (datasets.DatasetDict, dict)):
        if split is None and len(ds) == 1:
            split = next(iter(ds))
        if split not in ds:
            raise DataError(f"{source}: pick a split with split=... (--corpus_split); it has {list(ds)}.")
        ds, source = ds[split], f"{source} [{split}]"
    names = list(ds.column_names)
    return _from_columns(ds.select_columns(_wanted(names, fields)).to_dict(), names, fields, source)


def load_corpus(path_or_name: str | os.PathLike, id_field: str = "id", text_field: str = "text",
                lang_field: str | None = "lang", title_field: str | None = None, split: str | None = None,
                config_name: str | None = None) -> Corpus:
    """Load a corpus (or queries) from a JSONL(.gz) / Parquet file, a saved ``datasets`` directory or a Hub name.

    Args:
        path_or_name: the file, the ``save_to_disk`` directory, or a ``datasets`` Hub name (``"org/name"``).
        id_field / text_field: the fields holding the id and the text (``"_id"`` for BEIR files).
        lang_field: the language field, used when present (``None``: never read languages).
        title_field: a title field joined before the text as ``"title text"`` (BEIR convention).
        split / config_name: for a ``DatasetDict`` directory or a Hub dataset (a single split is picked itself).

    Raises:
        DataError: an unreadable source, a missing/duplicate id, a missing or non-string text (file, line, field).
    """
    fields = _Fields(id_field, text_field, lang_field, title_field)
    path = Path(path_or_name)
    name = str(path_or_name)
    if path.is_file():
        lowered = name.lower()
        if lowered.endswith((".jsonl", ".jsonl.gz", ".json", ".json.gz")):
            return _from_jsonl(path, fields)
        if lowered.endswith(".parquet"):
            return _from_parquet(path, fields)
        raise DataError(f"{path}: unsupported corpus file type; use .jsonl, .jsonl.gz or .parquet, a directory "
                        "saved with datasets' save_to_disk, or a datasets Hub name.")
    if path.is_dir():
        if not any((path / m).is_file() for m in _SAVED_DATASET_MARKERS):
            hint = f" For a BEIR directory pass {path / 'corpus.jsonl'}." if (path / "corpus.jsonl").is_file() else ""
            raise DataError(f"{path}: a directory, but not one saved by datasets' save_to_disk.{hint}")
        import datasets

        return _from_dataset(datasets.load_from_disk(str(path)), split, fields, str(path))
    if name.startswith((".", "/", "~")) or name.lower().endswith((".jsonl", ".gz", ".json", ".parquet")):
        raise DataError(f"{path}: no such file or directory.")
    import datasets

    try:
        ds = datasets.load_dataset(name, config_name, split=split)
    except Exception as exc:  # offline, unknown name, no such config/split: one clear line
        raise DataError(f"{name}: could not load this datasets Hub dataset ({type(exc).__name__}: {exc}). Check the "
                        "name, config and split, or pass a local .jsonl/.parquet file.") from None
    return _from_dataset(ds, split, fields, name)
