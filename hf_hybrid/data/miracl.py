"""MIRACL directories as :class:`RetrievalData`: :func:`load_miracl`, :func:`is_miracl_dir`, :func:`miracl_languages`.

What: MIRACL (18 languages, Wikipedia passages, native-speaker judgements) per language and split:
queries (``qid<TAB>query``), TREC qrels (``qid Q0 docid relevance``) and the passages (JSON lines with
``docid``, ``title``, ``text``). Two layouts are read:

* the published one (``miracl/miracl`` and ``miracl/miracl-corpus`` on the Hub, side by side in ``root``
  or one folder below it)::

      miracl-v1.0-de/topics/topics.miracl-v1.0-de-dev.tsv
      miracl-v1.0-de/qrels/qrels.miracl-v1.0-de-dev.tsv
      miracl-corpus-v1.0-de/docs-0.jsonl.gz, docs-1.jsonl.gz, ...

* a simplified one, a folder per language: ``de/topics.dev.tsv``, ``de/qrels.dev.tsv``,
  ``de/corpus.jsonl[.gz]`` (or ``de/docs-*.jsonl[.gz]``).

Queries and passages take the language of their folder. MIRACL ids (``"2330#3"``) repeat across languages,
so loading several languages with colliding ids is an error unless ``prefix_ids=True`` makes every id
``"<lang>/<id>"``. Splits without qrels (``testA``, ``testB``) load with empty qrels and a warning.

Why by hand: the Hub loading script of ``miracl/miracl`` needs the network and joins passages into the
training format; this reads local files in bounded memory (``corpus="ids"`` keeps ids only) with errors
naming ``file:line`` and the field. References: Zhang et al., "MIRACL", TACL 2023; the dataset cards.

Example::

    data = load_miracl("/data/miracl", split="dev", languages=["sw", "yo"], corpus="full")
    data.to_pool()   # small languages: the dense LAReQA metrics
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Sequence

from .errors import DataError, non_utf8
from .jsonl import iter_jsonl
from .qrels import read_qrels
from .retrieval_data import CORPUS_MODES, RetrievalData

logger = logging.getLogger(__name__)

__all__ = ["is_miracl_dir", "load_miracl", "miracl_languages"]

_OFFICIAL = re.compile(r"^miracl-v1\.0-([A-Za-z-]+)$")


def _bases(root: Path) -> list[Path]:
    """``root`` and its sub-folders (the two Hub repos may be downloaded into folders of their own)."""
    return [root] + sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def miracl_languages(path: str | os.PathLike) -> list[str]:
    """The languages of a MIRACL directory (either layout), sorted; ``[]`` if it is none."""
    root = Path(path)
    found = set()
    for base in _bases(root):
        for p in (base.iterdir() if base.is_dir() else ()):
            m = _OFFICIAL.match(p.name)
            if m and (p / "topics").is_dir():
                found.add(m.group(1))
    if root.is_dir():
        found |= {p.name for p in root.iterdir() if p.is_dir() and any(p.glob("topics.*.tsv"))}
    return sorted(found)


def is_miracl_dir(path: str | os.PathLike) -> bool:
    """Whether ``path`` holds MIRACL topics for at least one language (either layout)."""
    return bool(miracl_languages(path))


def _files(root: Path, lang: str, split: str) -> tuple[Path, Path, list[Path]]:
    """``(topics, qrels, corpus files)`` of one language; the corpus list may be empty."""
    simple = root / lang
    if (simple / f"topics.{split}.tsv").is_file() or not any(
            (b / f"miracl-v1.0-{lang}").is_dir() for b in _bases(root)):
        topics, qrels = simple / f"topics.{split}.tsv", simple / f"qrels.{split}.tsv"
        corpus = sorted(simple.glob("corpus.jsonl*")) or sorted(simple.glob("docs-*.jsonl*"), key=_shard_number)
    else:
        base = next(b for b in _bases(root) if (b / f"miracl-v1.0-{lang}").is_dir())
        d = base / f"miracl-v1.0-{lang}"
        topics = d / "topics" / f"topics.miracl-v1.0-{lang}-{split}.tsv"
        qrels = d / "qrels" / f"qrels.miracl-v1.0-{lang}-{split}.tsv"
        corpus = []
        for b in _bases(root):
            corpus = sorted((b / f"miracl-corpus-v1.0-{lang}").glob("docs-*.jsonl*"), key=_shard_number)
            if corpus:
                break
    if not topics.is_file():
        prefix = f"topics.miracl-v1.0-{lang}-" if topics.parent.name == "topics" else "topics."
        splits = sorted(p.name[len(prefix):-len(".tsv")] for p in topics.parent.glob(f"{prefix}*.tsv"))
        raise DataError(f"{topics} not found: no '{split}' topics for language {lang!r}"
                        + (f" (available splits: {splits})" if splits else "") + ".")
    return topics, qrels, corpus


def _shard_number(p: Path) -> tuple[int, str]:
    m = re.search(r"(\d+)", p.name)
    return (int(m.group(1)) if m else -1, p.name)


def _read_topics(path: Path) -> list[tuple[str, str]]:
    """``(qid, query)`` per line of a ``qid<TAB>query`` file, in file order; ids must be unique."""
    out, seen = [], {}
    with open(path, encoding="utf-8-sig", errors="surrogateescape") as fh:
        for n, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            if non_utf8(line) is not None:
                raise DataError(f"{path}:{n}: not UTF-8 text. Re-encode the file as UTF-8.")
            qid, tab, text = line.partition("\t")
            if not tab or not qid.strip():
                raise DataError(f"{path}:{n}: expected 'qid<TAB>query', got {line[:120]!r}.")
            if qid in seen:
                raise DataError(f"{path}:{n}: field 'qid' {qid!r} already appears on line {seen[qid]}; ids must be "
                                "unique.")
            seen[qid] = n
            out.append((qid.strip(), text.strip()))
    return out


def _read_corpus(files: list[Path], lang: str, texts: bool, ids: list, titles: list, bodies: list) -> None:
    """Append one language's passages to the lists (titles/bodies only when ``texts``)."""
    seen: set[str] = set()
    for f in files:
        for n, row in iter_jsonl(f):
            docid = row.get("docid", row.get("_id", row.get("id")))
            if docid is None or str(docid) == "":
                raise DataError(f"{f}: line {n}: field 'docid' is missing or empty (MIRACL passages have docid, "
                                "title, text).")
            docid = str(docid)
            if docid in seen:
                raise DataError(f"{f}: line {n}: field 'docid' {docid!r} appears twice in the {lang!r} corpus.")
            seen.add(docid)
            ids.append(docid)
            if texts:
                if not isinstance(row.get("text"), str):
                    raise DataError(f"{f}: line {n}: field 'text' is missing or not a string (doc {docid!r}).")
                titles.append(str(row.get("title") or ""))
                bodies.append(row["text"])


def load_miracl(path: str | os.PathLike, split: str = "dev", languages: Sequence[str] | None = None,
                corpus: str = "full", prefix_ids: bool = False) -> RetrievalData:
    """One split of a MIRACL directory (every language, or ``languages``) as :class:`RetrievalData`.

    Args:
        path: the directory (either layout, see the module docstring).
        split: ``"dev"``, ``"train"``, ``"testA"``, ... (the name in the file names).
        languages: the languages to load (default: every language with topics).
        corpus: ``"full"`` (ids, titles, texts), ``"ids"`` (ids and languages: enough to score a run) or ``"none"``.
        prefix_ids: make every query and doc id ``"<lang>/<id>"`` (needed when ids collide across languages).

    Raises:
        DataError: not a MIRACL directory, an unknown language or split, a malformed line (``file:line``,
            field), duplicate ids, ids colliding across languages, or qrels naming unknown queries.
    """
    if corpus not in CORPUS_MODES:
        raise DataError(f"corpus must be one of {CORPUS_MODES}, got {corpus!r}.")
    root = Path(path)
    available = miracl_languages(root)
    if not available:
        raise DataError(f"{root}: not a MIRACL directory (expected miracl-v1.0-<lang>/topics/... or <lang>/topics."
                        f"<split>.tsv folders).")
    langs = list(available if languages is None else languages)
    unknown = [x for x in langs if x not in available]
    if unknown:
        raise DataError(f"{root}: languages {unknown} not found (available: {available}).")
    qids, qtexts, qlangs, qrels = [], [], [], {}
    ids: list[str] = []
    titles: list[str] = []
    bodies: list[str] = []
    dlangs: list[str] = []
    files: dict[str, list[str]] = {}
    dropped = 0
    for lang in langs:
        topics, qrels_file, corpus_files = _files(root, lang, split)
        pre = f"{lang}/" if prefix_ids else ""
        topic_rows = _read_topics(topics)
        known = {q for q, _ in topic_rows}
        judged = read_qrels(qrels_file) if qrels_file.is_file() else {}
        if not qrels_file.is_file():
            logger.warning("%s not found: split %r of %r has no judgements (queries loaded, qrels empty).",
                           qrels_file, split, lang)
        stray = [q for q in judged if q not in known]
        if stray:
            raise DataError(f"{qrels_file}: {len(stray)} query id(s) not in {topics}, e.g. {stray[:3]}.")
        start = len(ids)
        if corpus != "none":
            if not corpus_files:
                raise DataError(f"{root}: no corpus files for {lang!r} (expected miracl-corpus-v1.0-{lang}/docs-*."
                                f"jsonl.gz or {lang}/corpus.jsonl[.gz]); pass corpus='none' to load queries only.")
            _read_corpus(corpus_files, lang, corpus == "full", ids, titles, bodies)
            ids[start:] = [pre + d for d in ids[start:]]
            dlangs += [lang] * (len(ids) - start)
            in_corpus = set(ids[start:])
            for q, docs in judged.items():
                kept = {d: r for d, r in docs.items() if pre + d in in_corpus}
                dropped += len(docs) - len(kept)
                judged[q] = kept
        for q, text in topic_rows:
            qids.append(pre + q)
            qtexts.append(text)
            qlangs.append(lang)
        qrels.update({pre + q: {pre + d: r for d, r in docs.items()} for q, docs in judged.items()})
        files[lang] = [str(topics), str(qrels_file), *map(str, corpus_files)]
    _check_unique(qids, "query", langs)
    if corpus != "none":
        _check_unique(ids, "doc", langs)
    if dropped:
        logger.warning("%s: %d judgement(s) name passages missing from the corpus; ignored.", root, dropped)
    return RetrievalData(
        query_ids=qids, query_texts=qtexts, query_langs=qlangs, qrels=qrels,
        doc_ids=None if corpus == "none" else ids, doc_langs=None if corpus == "none" else dlangs,
        doc_titles=titles if corpus == "full" else None, doc_texts=bodies if corpus == "full" else None,
        name=f"miracl-{split}", meta={"format": "miracl", "split": split, "path": str(root), "languages": langs,
                                      "prefix_ids": prefix_ids, "files": files, "judgements_dropped": dropped})


def _check_unique(ids: list[str], what: str, langs: list[str]) -> None:
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dup = next(i for i in ids if i in seen or seen.add(i))
        raise DataError(f"{what} id {dup!r} occurs in more than one of the languages {langs}; MIRACL ids repeat "
                        "across languages: load with prefix_ids=True (`hf-hybrid-evaluate --prefix-ids`; ids become "
                        "'<lang>/<id>', and the run's ids must be the same), or one language at a time.")
