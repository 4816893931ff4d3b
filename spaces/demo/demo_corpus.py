"""The passages the demo searches: :class:`Corpus`, the bundled XQuAD-R sample, pasted or uploaded
corpora (JSONL or one passage per line), and the query as the user typed it.

Every parser error is a :class:`~demo_config.DemoInputError` that names the line and says what to do: a
bad line is reported, never skipped (a silent skip would hide the passage the user is looking for).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from demo_config import (ENV_CORPUS, ENV_QUERY, MAX_PASSAGE_CHARS, MAX_PASSAGES, MAX_QUERY_CHARS,
                         MAX_UPLOAD_BYTES, DemoInputError)

UNKNOWN_LANG = "und"
TEXT_KEYS = ("text", "passage", "positive", "sentence", "content")
#: The prefilled query on the bundled corpus: a question of an article the quickstart holds out
#: (Apollo_program; test_articles 3, split_seed 0), chosen by ``benchmarks/demo_default_query.py``. Zero-shot
#: multilingual-e5-small ranks 8 Spanish non-answers in its top-10 (9 Spanish passages, 2 answers); the
#: quickstart model (12 or 40 steps) ranks the answer in 10 languages, one each.
DEFAULT_QUERY = "¿Cuándo se realizó la primera prueba de desconexión?"


@dataclass(frozen=True)
class Corpus:
    """Passages with their languages; ``notices`` tell the user what was changed (truncation...)."""

    texts: tuple[str, ...]
    langs: tuple[str, ...]
    name: str
    notices: tuple[str, ...] = ()
    fingerprint: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.langs):
            raise ValueError(f"corpus '{self.name}': {len(self.texts)} texts but {len(self.langs)} languages")
        if not self.fingerprint:
            h = hashlib.sha256()
            for t, l in zip(self.texts, self.langs):
                h.update(l.encode() + b"\0" + t.encode() + b"\0")
            object.__setattr__(self, "fingerprint", h.hexdigest()[:16])

    @property
    def languages(self) -> list[str]:
        return sorted(set(self.langs))

    def describe(self) -> str:
        return f"{self.name} ({len(self.texts)} passages, {len(self.languages)} languages)"


_BUNDLED: dict[str, Any] = {}
_BUNDLED_LOCK = threading.Lock()


def bundled_pool():
    """The LAReQA pool of the bundled XQuAD-R sample, parsed once per process."""
    with _BUNDLED_LOCK:
        if "pool" not in _BUNDLED:
            from hf_hybrid.data import bundled_sample_path, load_lareqa_pool

            _BUNDLED["pool"] = load_lareqa_pool(bundled_sample_path())
        return _BUNDLED["pool"]


def bundled_corpus() -> Corpus:
    """Every sentence of the bundled XQuAD-R sample, in all 11 languages (the LAReQA candidate pool)."""
    pool = bundled_pool()
    with _BUNDLED_LOCK:
        if "corpus" not in _BUNDLED:
            _BUNDLED["corpus"] = Corpus(tuple(pool.cand_texts), tuple(pool.cand_langs), "bundled XQuAD-R sample")
        return _BUNDLED["corpus"]


def _clean_lang(value: Any, where: str) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return UNKNOWN_LANG
    if not isinstance(value, str):
        raise DemoInputError(f"{where}: field 'lang' must be a string such as \"en\", got {value!r}.")
    lang = value.strip()
    if len(lang) > 20:
        raise DemoInputError(f"{where}: 'lang' value {lang[:30]!r}... is too long; use a short code such as \"en\".")
    return lang


def _parse_jsonl_line(line: str, where: str) -> tuple[str, str] | None:
    """(text, lang) of one JSONL line, None for an empty passage."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise DemoInputError(
            f"{where} is not valid JSON ({err.msg} at column {err.colno}). Each line of a JSONL corpus "
            "must be one object such as {\"text\": \"...\", \"lang\": \"en\"}."
        ) from None
    if not isinstance(obj, dict):
        raise DemoInputError(f"{where}: expected a JSON object with \"text\" and \"lang\", got {type(obj).__name__}.")
    key = next((k for k in TEXT_KEYS if k in obj), None)
    if key is None:
        raise DemoInputError(
            f"{where}: no passage field; use one of {', '.join(repr(k) for k in TEXT_KEYS)} "
            f"(found keys: {', '.join(map(repr, list(obj)[:6])) or 'none'})."
        )
    value = obj[key]
    if not isinstance(value, str):
        raise DemoInputError(f"{where}: field {key!r} must be a string, got {type(value).__name__}.")
    if not value.strip():
        return None
    return value.strip(), _clean_lang(obj.get("lang"), where)


def _parse_plain_line(line: str) -> tuple[str, str]:
    """(text, lang) of a plain line: ``lang<TAB>passage``, else the whole line in language ``und``."""
    head, sep, rest = line.partition("\t")
    if sep and 1 <= len(head.strip()) <= 12 and " " not in head.strip() and rest.strip():
        return rest.strip(), head.strip()
    return line, UNKNOWN_LANG


def parse_corpus(text: str, name: str = "your corpus") -> Corpus:
    """Parse pasted/uploaded passages: JSONL (``{"text": ..., "lang": ...}``) or one passage per line.

    A plain line may start with a language code and a tab (``de<TAB>Der Rhein ...``); lines without one
    get the language ``und`` (undetermined), which the language chart shows as such. The format is
    JSONL when the first non-empty line starts with ``{``; then every non-empty line must be a JSON
    object, and a bad line is reported by number rather than skipped.
    """
    if text is None or not str(text).strip():
        raise DemoInputError(
            "The corpus is empty: paste passages (one per line, or JSONL with \"text\" and \"lang\" fields) "
            "or upload a .txt / .jsonl file."
        )
    non_empty = [(i + 1, ln.strip()) for i, ln in enumerate(str(text).splitlines()) if ln.strip()]
    if non_empty[0][1].startswith("{"):
        parsed = [_parse_jsonl_line(line, f"{name}, line {lineno}") for lineno, line in non_empty]
    else:
        parsed = [_parse_plain_line(line) for _, line in non_empty]
    pairs = [p for p in parsed if p is not None]
    if not pairs:
        raise DemoInputError(f"{name} has no non-empty passage.")
    texts, langs = [t for t, _ in pairs], [l for _, l in pairs]
    notices = []
    if len(texts) > MAX_PASSAGES:
        notices.append(f"{name} has {len(texts)} passages; only the first {MAX_PASSAGES} are used.")
        texts, langs = texts[:MAX_PASSAGES], langs[:MAX_PASSAGES]
    n_long = sum(len(t) > MAX_PASSAGE_CHARS for t in texts)
    if n_long:
        texts = [t[:MAX_PASSAGE_CHARS] for t in texts]
        notices.append(f"{n_long} passage(s) longer than {MAX_PASSAGE_CHARS} characters were truncated.")
    n_und = langs.count(UNKNOWN_LANG)
    if n_und:
        notices.append(
            f"{n_und} passage(s) have no language tag and are shown as '{UNKNOWN_LANG}': use JSONL with a "
            "\"lang\" field, or start a line with a language code and a tab."
        )
    return Corpus(tuple(texts), tuple(langs), name, tuple(notices))


def read_corpus_file(path: str | os.PathLike) -> Corpus:
    """Read an uploaded corpus file (UTF-8 text or JSONL), with a clear message for binary or huge files."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError:
        raise DemoInputError(f"The uploaded file {p.name!r} could not be read; please upload it again.") from None
    if size > MAX_UPLOAD_BYTES:
        raise DemoInputError(f"The uploaded file {p.name!r} is {size / 2**20:.1f} MB; the limit is "
                             f"{MAX_UPLOAD_BYTES // 2**20} MB.")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DemoInputError(
            f"The uploaded file {p.name!r} is not UTF-8 text. Upload a .txt (one passage per line) or a .jsonl "
            "file (one {\"text\": ..., \"lang\": ...} object per line)."
        ) from None
    if "\x00" in text:
        raise DemoInputError(f"The uploaded file {p.name!r} looks binary; upload a .txt or .jsonl text file.")
    return parse_corpus(text, name=p.name)


def default_corpus() -> Corpus:
    """``$HF_HYBRID_DEMO_CORPUS`` (a .txt/.jsonl file) when set, else the bundled XQuAD-R sample."""
    path = os.environ.get(ENV_CORPUS, "").strip()
    if path:
        return read_corpus_file(path)
    return bundled_corpus()


def default_query() -> str:
    """The prefilled query: ``$HF_HYBRID_DEMO_QUERY``, else :data:`DEFAULT_QUERY` on the bundled corpus, else
    none (a question about the bundled sample means nothing to another corpus)."""
    if os.environ.get(ENV_QUERY, "").strip():
        return os.environ[ENV_QUERY].strip()[:MAX_QUERY_CHARS]
    return "" if os.environ.get(ENV_CORPUS, "").strip() else DEFAULT_QUERY


# Characters that print nothing: controls (Cc), format characters such as zero-width spaces and joiners,
# direction marks, the BOM, soft hyphen and tags (Cf), surrogates (Cs), and spaces/separators (Z*) ...
_BLANK_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})
# ... and the few letters, marks and symbols that render as blank: Hangul fillers, the braille blank, the
# combining grapheme joiner, the Mongolian free variation selectors and the variation selectors.
_BLANK_CHARS = frozenset("\u034f\u115f\u1160\u180b\u180c\u180d\u180f\u2800\u3164\uffa0")
_VARIATION_SELECTORS = ((0xFE00, 0xFE0F), (0xE0100, 0xE01EF))


def _prints_nothing(char: str) -> bool:
    return (unicodedata.category(char) in _BLANK_CATEGORIES or char in _BLANK_CHARS
            or any(lo <= ord(char) <= hi for lo, hi in _VARIATION_SELECTORS))


def _strip_blank(text: str) -> str:
    """``text`` without controls, format characters and spaces at either end (those inside it stay, and
    so do marks that belong to the character before them, such as the variation selector of an emoji)."""
    start, end = 0, len(text)
    while start < end and unicodedata.category(text[start]) in _BLANK_CATEGORIES:
        start += 1
    while end > start and unicodedata.category(text[end - 1]) in _BLANK_CATEGORIES:
        end -= 1
    return text[start:end]


def clip_query(query: str | None) -> tuple[str, list[str]]:
    """The query, without what prints nothing at its ends, cut to :data:`MAX_QUERY_CHARS`; the notices say
    whether it was cut. A query that prints nothing (zero-width characters only...) is an empty query."""
    q = _strip_blank(query or "")
    if all(_prints_nothing(c) for c in q):
        raise DemoInputError("Please type a query (a question or a few words) before searching.")
    if len(q) > MAX_QUERY_CHARS:
        return q[:MAX_QUERY_CHARS], [f"The query had {len(q)} characters and was truncated to the first {MAX_QUERY_CHARS}."]
    return q, []
