"""LAReQA directories (XQuAD-R, MLQA-R) as canonical pairs and as retrieval pools.

A LAReQA directory holds one SQuAD-style ``<lang>.json`` per language (the language is the file name, a
BCP-47-like code, lower-cased), plus ``sentences`` and ``sentence_breaks`` per paragraph. The positive of a
question is its *answer sentence*: the sentence whose break range holds ``answer_start`` (``docs/design.md``,
section 1). For training, :func:`load_lareqa` gives one canonical row per (question, language); for
evaluation, :func:`load_lareqa_pool` makes *every* sentence of the selected articles, in every language, a
candidate, as LAReQA ranks the whole corpus.

Each group gets one ``article`` key (its English title, else its title in its first language): XQuAD-R
titles are identical across languages, MLQA-R titles are translated, and one key per group keeps all
translations of a question on the same side of a split.

Other files in the directory: hidden files (``.DS_Store``, ``._en.json``), subdirectories and README /
LICENSE files are ignored; a ``.json`` file whose name is not a language code but that holds SQuAD-style
data (``{"data": [...]}``) is an error (rename it to ``<lang>.json``: it was probably meant as a
language); any other file (``notes.txt``, ``train.json`` without SQuAD data, ``en.jsonl``) is skipped with
one :class:`~hf_hybrid.data.errors.DataWarning` naming them all. A ``<lang>.json`` that is not SQuAD-style
is an error naming the file and the layout expected.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import datasets

from .errors import DataError, DataWarning
from .pool import RetrievalPool
from .schema import check_languages, is_language_code, normalise_lang

__all__ = ["load_lareqa", "load_lareqa_pool"]

_LAYOUT_HINT = "LAReQA files use the SQuAD layout plus 'sentences' and 'sentence_breaks' per paragraph."


_IGNORED = re.compile(r"^(\.|readme|licen[cs]e|copying|notice)", re.IGNORECASE)  # metadata and documentation


def _lareqa_files(path: str | os.PathLike, languages: Sequence[str] | None) -> dict[str, Path]:
    """Language -> file of a LAReQA directory (see the module docstring for the files that are not languages)."""
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"{root}: not a directory. Pass a LAReQA directory holding one <lang>.json per language.")
    files: dict[str, Path] = {}
    skipped: list[str] = []
    for p in sorted(root.iterdir()):
        if _IGNORED.match(p.name) or p.is_dir():
            continue
        is_json = p.suffix.lower() == ".json"
        if is_json and is_language_code(p.stem):
            lang = normalise_lang(p.stem)
            if lang in files:
                raise DataError(f"{p}: {files[lang].name} and {p.name} are both language '{lang}' (codes are "
                                "case-blind); keep one.")
            files[lang] = p
        elif is_json and _is_squad(p):
            raise DataError(f"{p}: holds SQuAD-style data, but '{p.stem}' is not a language code. Rename it to "
                            "<lang>.json (e.g. en.json, zh-hans.json), or move it out of the directory.")
        else:
            skipped.append(p.name)
    if not files:
        also = f" (not language files: {', '.join(skipped)})" if skipped else ""
        raise DataError(f"{root}: no <lang>.json files found{also}. A LAReQA directory holds e.g. en.json, "
                        "de.json, ...")
    if skipped:
        warnings.warn(f"{root}: skipped {', '.join(skipped)}: not <lang>.json file(s). A LAReQA directory holds one "
                      "SQuAD-style <lang>.json per language (en.json, de.json, ...); move other files out to "
                      "silence this warning.", DataWarning, stacklevel=4)
    if languages is not None:
        check_languages(languages, files.keys(), str(root))
        files = {lang: files[lang] for lang in languages}
    return files


def _is_squad(path: Path) -> bool:
    """Whether a file holds a SQuAD-style document (a JSON object with a 'data' list); unreadable files do not."""
    try:
        doc = _read_json(path)
    except DataError:
        return False
    return isinstance(doc, dict) and isinstance(doc.get("data"), list)


def _read_json(path: Path) -> Any:
    """A whole-file JSON document; a damaged file gives its line and column."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}: line {exc.lineno}, column {exc.colno}: malformed JSON ({exc.msg}). "
            "Fix or re-download the file."
        ) from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}). Re-encode it as UTF-8.") from None


def _field(obj: Mapping[str, Any], key: str, where: str, expected: type | tuple[type, ...]) -> Any:
    if not isinstance(obj, Mapping) or key not in obj:
        raise DataError(f"{where}: missing field '{key}'. {_LAYOUT_HINT}")
    value = obj[key]
    if not isinstance(value, expected):
        names = expected.__name__ if isinstance(expected, type) else "/".join(t.__name__ for t in expected)
        raise DataError(f"{where}: field '{key}' should be {names}, got {type(value).__name__}.")
    return value


def _answer_sentence(breaks: list, answer_start: int, where: str) -> int:
    """Index of the sentence whose break range holds ``answer_start`` (the LAReQA convention)."""
    for i, span in enumerate(breaks):
        if not (isinstance(span, (list, tuple)) and len(span) == 2):
            raise DataError(f"{where}: 'sentence_breaks'[{i}] should be a [start, end] pair, got {span!r}.")
        if span[0] <= answer_start <= span[1]:
            return i
    # Answers that start in the whitespace between two sentences belong to the next one.
    for i, span in enumerate(breaks):
        if answer_start < span[0]:
            return i
    raise DataError(f"{where}: answer_start {answer_start} lies outside every sentence break "
                    f"(last ends at {breaks[-1][1] if breaks else 'n/a'}).")


@dataclass
class _Paragraph:
    lang: str
    title: str
    key: str  # unique id of the paragraph within its language file
    context: str
    sentences: list[str]
    answers: dict[int, list[str]]  # sentence index -> question ids it answers


def _parse_paragraph(par: Any, where_p: str, lang: str, title: str, key: str, file: Path, seen: set[str],
                     context: bool, rows: list[dict[str, Any]]) -> _Paragraph:
    """Append the question rows of one paragraph to ``rows`` and return the paragraph."""
    ctx = _field(par, "context", where_p, str)
    sentences = _field(par, "sentences", where_p, list)
    breaks = _field(par, "sentence_breaks", where_p, list)
    if len(sentences) != len(breaks):
        raise DataError(f"{where_p}: {len(sentences)} 'sentences' but {len(breaks)} 'sentence_breaks'; "
                        "they must have one entry each.")
    answers: dict[int, list[str]] = defaultdict(list)
    for q_i, qa in enumerate(_field(par, "qas", where_p, list)):
        where_q = f"{where_p}.qas[{q_i}]"
        qid = str(_field(qa, "id", where_q, (str, int)))
        question = _field(qa, "question", where_q, str)
        answer_list = _field(qa, "answers", where_q, list)
        if not answer_list:
            raise DataError(f"{where_q} (id {qid}): empty 'answers'. Every LAReQA question needs an answer.")
        start = _field(answer_list[0], "answer_start", f"{where_q}.answers[0]", int)
        if not question.strip():
            raise DataError(f"{where_q} (id {qid}): empty 'question' text. Remove the question or fill it.")
        if qid in seen:
            raise DataError(f"{where_q}: duplicate question id {qid!r} in {file.name}. "
                            "Each (group, language) must appear once.")
        seen.add(qid)
        s_i = _answer_sentence(breaks, start, f"{where_q} (id {qid})")
        sentence = sentences[s_i]
        if not str(sentence).strip():
            raise DataError(f"{where_p}: sentence {s_i}, the answer of question {qid}, is empty.")
        answers[s_i].append(qid)
        positive = f"{sentence}\n{ctx}" if context else sentence
        rows.append({"group_id": qid, "lang": lang, "query": question, "positive": positive, "title": title})
    return _Paragraph(lang, title, key, ctx, list(sentences), dict(answers))


def _parse_lareqa(path: str | os.PathLike, languages: Sequence[str] | None, context: bool
                  ) -> tuple[list[dict[str, Any]], list[_Paragraph], dict[str, str]]:
    """Question rows, paragraphs, and the article key of every group of a LAReQA directory."""
    rows: list[dict[str, Any]] = []
    paragraphs: list[_Paragraph] = []
    for lang, file in _lareqa_files(path, languages).items():
        doc = _read_json(file)
        if not (isinstance(doc, dict) and isinstance(doc.get("data"), list)):
            raise DataError(f"{file}: not a LAReQA language file: expected a JSON object whose 'data' is a list of "
                            "articles (the SQuAD layout). A LAReQA directory holds only <lang>.json files; fix "
                            "this one, or move it out of the directory.")
        articles = doc["data"]
        seen: set[str] = set()
        for a_i, article in enumerate(articles):
            where_a = f"{file}: data[{a_i}]"
            title = str(_field(article, "title", where_a, (str, int)))
            for p_i, par in enumerate(_field(article, "paragraphs", where_a, list)):
                paragraphs.append(_parse_paragraph(par, f"{where_a}.paragraphs[{p_i}]", lang, title,
                                                   f"{a_i}/{p_i}", file, seen, context, rows))
    by_group: dict[str, dict[str, str]] = defaultdict(dict)
    for r in rows:
        by_group[r["group_id"]][r["lang"]] = r["title"]
    article_of = {g: t.get("en", t[min(t)]) for g, t in by_group.items()}
    for r in rows:
        r["article"] = article_of[r["group_id"]]
        del r["title"]
    return rows, paragraphs, article_of


def load_lareqa(
    path: str | os.PathLike,
    languages: Sequence[str] | None = None,
    context: bool = False,
) -> datasets.Dataset:
    """Load a LAReQA directory (XQuAD-R, MLQA-R: one SQuAD-style ``<lang>.json`` per language).

    The positive of a question is its *answer sentence* (the sentence whose break range holds
    ``answer_start``), as in LAReQA; ``context=True`` appends the paragraph on a new line.
    """
    rows, _, _ = _parse_lareqa(path, languages, context)
    if not rows:
        raise DataError(f"{path}: no questions found for languages {languages or 'all'}.")
    return datasets.Dataset.from_list(rows)


def load_lareqa_pool(
    path: str | os.PathLike,
    languages: Sequence[str] | None = None,
    articles: Iterable[str] | None = None,
    context: bool = False,
) -> RetrievalPool:
    """LAReQA evaluation pool: every sentence of the selected articles, in every language, is a candidate.

    ``articles`` holds article keys as in the ``article`` column of :func:`load_lareqa` (so a held-out
    split from :func:`hf_hybrid.data.split_by_article` selects exactly its articles).
    """
    rows, paragraphs, article_of = _parse_lareqa(path, languages, context)
    wanted = None if articles is None else set(articles)
    if wanted is not None:
        unknown = wanted - set(article_of.values())
        if unknown:
            raise DataError(f"{path}: unknown article(s) {sorted(unknown)[:5]}; known articles are the values of "
                            "the 'article' column of load_lareqa().")
    # (lang, title) -> article key, learned from the questions of that paragraph's article.
    lang_title: dict[tuple[str, str], str] = {}
    for par in paragraphs:
        for qids in par.answers.values():
            for q in qids:
                lang_title[(par.lang, par.title)] = article_of[q]
    keep_q = [r for r in rows if wanted is None or r["article"] in wanted]
    q_ids = [f"{r['group_id']}/{r['lang']}" for r in keep_q]
    pool = RetrievalPool(
        query_ids=q_ids, query_groups=[r["group_id"] for r in keep_q], query_langs=[r["lang"] for r in keep_q],
        query_texts=[r["query"] for r in keep_q], cand_ids=[], cand_groups=[], cand_langs=[], cand_texts=[],
        name=Path(path).name,
    )
    for par in paragraphs:
        art = lang_title.get((par.lang, par.title))
        if wanted is not None and art not in wanted:
            continue
        for s_i, sentence in enumerate(par.sentences):
            if not str(sentence).strip():
                continue
            pool.cand_ids.append(f"{par.lang}/{par.key}/{s_i}")
            pool.cand_groups.append(tuple(par.answers.get(s_i, ())))
            pool.cand_langs.append(par.lang)
            pool.cand_texts.append(f"{sentence}\n{par.context}" if context else sentence)
    if not pool.query_ids:
        raise DataError(f"{path}: no queries left for languages {languages or 'all'} and the given articles.")
    pool.meta["articles"] = sorted({r["article"] for r in keep_q})
    return pool
