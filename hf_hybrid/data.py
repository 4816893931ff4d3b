"""Parallel question/passage data in the canonical *group* form (design.md section 1).

Hybrid batch sampling needs to know, for every question, which languages it exists in: a monolingual
batch draws one language for the whole batch, a cross-lingual batch pairs a query in one language with
the passage of the same question in another. Every source is therefore normalised into one
``datasets.Dataset`` with one row per (group, language):

``group_id`` (str), ``lang`` (str), ``query`` (str), ``positive`` (str), optional ``negatives``
(list[str]) and ``article`` (str, the unit of train/test splits).

Evaluation needs more than the training pairs: LAReQA ranks *every sentence* of the corpus, so
:class:`RetrievalPool` carries queries and candidates separately, with the set of question groups each
candidate answers (one sentence may answer several questions; sentences do not align across languages).

Errors are :class:`DataError` (a ``ValueError``) and name the file, the position and the field, and say
what to do, because a silent skip here would surface hours later as a strange mAP.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import datasets

REQUIRED_COLUMNS = ("group_id", "lang", "query", "positive")
OPTIONAL_COLUMNS = ("negatives", "article")
TEXT_SUFFIXES = {".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet", ".csv": "csv"}

__all__ = [
    "DataError",
    "DataSummary",
    "RetrievalPool",
    "bundled_sample_path",
    "filter_languages",
    "load_lareqa",
    "load_lareqa_pool",
    "load_pairs",
    "load_parallel_data",
    "split_by_article",
    "summarize",
    "validate_parallel",
]


class DataError(ValueError):
    """Bad input data; the message names the file, position and field, and what to do."""


def bundled_sample_path() -> Path:
    """Directory of the XQuAD-R sample shipped in the package (11 languages, a few articles, CC BY-SA 4.0).

    It exists so that the quickstart, the tests and the demo run offline; see its ``README.md`` for the
    attribution and which articles it holds.
    """
    return Path(__file__).parent / "resources" / "xquad_r_sample"


# --------------------------------------------------------------------------------------------------
# LAReQA directories
# --------------------------------------------------------------------------------------------------


def _lareqa_files(path: str | os.PathLike, languages: Sequence[str] | None) -> dict[str, Path]:
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"{root}: not a directory. Pass a LAReQA directory holding one <lang>.json per language.")
    files = {p.stem: p for p in sorted(root.glob("*.json"))}
    if not files:
        raise DataError(f"{root}: no <lang>.json files found. A LAReQA directory holds e.g. en.json, de.json, ...")
    if languages is not None:
        _check_languages(languages, files.keys(), str(root))
        files = {lang: files[lang] for lang in languages}
    return files


def _read_json(path: Path) -> Any:
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
        raise DataError(f"{where}: missing field '{key}'. LAReQA files use the SQuAD layout plus "
                        "'sentences' and 'sentence_breaks' per paragraph.")
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
class _LareqaParagraph:
    lang: str
    title: str
    key: str  # unique id of the paragraph within its language file
    context: str
    sentences: list[str]
    answers: dict[int, list[str]]  # sentence index -> question ids it answers


def _parse_lareqa(path: str | os.PathLike, languages: Sequence[str] | None, context: bool):
    """Parse a LAReQA directory into question rows and paragraphs, with one article key per group."""
    rows: list[dict[str, Any]] = []
    paragraphs: list[_LareqaParagraph] = []
    for lang, file in _lareqa_files(path, languages).items():
        doc = _read_json(file)
        articles = _field(doc, "data", str(file), list)
        seen: set[str] = set()
        for a_i, article in enumerate(articles):
            where_a = f"{file}: data[{a_i}]"
            title = str(_field(article, "title", where_a, (str, int)))
            for p_i, par in enumerate(_field(article, "paragraphs", where_a, list)):
                where_p = f"{where_a}.paragraphs[{p_i}]"
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
                    rows.append({"group_id": qid, "lang": lang, "query": question, "positive": positive,
                                 "title": title})
                paragraphs.append(_LareqaParagraph(lang, title, f"{a_i}/{p_i}", ctx, list(sentences), dict(answers)))
    # Article key of a group: its English title when it has English, else the title in its first language.
    # XQuAD-R titles are identical across languages; MLQA-R titles are translated, so one key per group
    # keeps all translations of a question on the same side of a split.
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


@dataclass
class RetrievalPool:
    """Queries and candidates for LAReQA-style evaluation.

    ``cand_groups[i]`` holds the ids of every question group that candidate ``i`` answers (empty for a
    distractor sentence), because one sentence can answer several questions and sentences do not align
    across languages. Query ``q`` is relevant to candidate ``c`` iff ``query_groups[q] in cand_groups[c]``.
    """

    query_ids: list[str]
    query_groups: list[str]
    query_langs: list[str]
    query_texts: list[str]
    cand_ids: list[str]
    cand_groups: list[tuple[str, ...]]
    cand_langs: list[str]
    cand_texts: list[str]
    name: str = "pool"
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        nq = {len(self.query_ids), len(self.query_groups), len(self.query_langs), len(self.query_texts)}
        nc = {len(self.cand_ids), len(self.cand_groups), len(self.cand_langs), len(self.cand_texts)}
        if len(nq) != 1 or len(nc) != 1:
            raise DataError(f"RetrievalPool '{self.name}': query fields have lengths {sorted(nq)} and candidate "
                            f"fields {sorted(nc)}; each side's fields must have one entry per item.")
        self.cand_groups = [tuple(g) for g in self.cand_groups]

    @property
    def languages(self) -> list[str]:
        return sorted(set(self.query_langs) | set(self.cand_langs))

    def __repr__(self) -> str:
        return (f"RetrievalPool(name={self.name!r}, queries={len(self.query_ids)}, "
                f"candidates={len(self.cand_ids)}, languages={self.languages})")

    @classmethod
    def from_pairs(cls, dataset: datasets.Dataset, name: str = "pairs") -> "RetrievalPool":
        """Pool from canonical pairs: every row is a query; every (group, language) positive a candidate."""
        validate_parallel(dataset, name)
        cols = dataset.select_columns(list(REQUIRED_COLUMNS)).to_dict()
        ids = [f"{g}/{l}" for g, l in zip(cols["group_id"], cols["lang"])]
        return cls(
            query_ids=ids, query_groups=list(cols["group_id"]), query_langs=list(cols["lang"]),
            query_texts=list(cols["query"]), cand_ids=list(ids), cand_groups=[(g,) for g in cols["group_id"]],
            cand_langs=list(cols["lang"]), cand_texts=list(cols["positive"]), name=name,
        )

    def select_languages(self, languages: Sequence[str]) -> "RetrievalPool":
        _check_languages(languages, self.languages, f"pool '{self.name}'")
        keep = set(languages)
        qi = [i for i, l in enumerate(self.query_langs) if l in keep]
        ci = [i for i, l in enumerate(self.cand_langs) if l in keep]
        pick = lambda xs, idx: [xs[i] for i in idx]  # noqa: E731
        return RetrievalPool(pick(self.query_ids, qi), pick(self.query_groups, qi), pick(self.query_langs, qi),
                             pick(self.query_texts, qi), pick(self.cand_ids, ci), pick(self.cand_groups, ci),
                             pick(self.cand_langs, ci), pick(self.cand_texts, ci), self.name, dict(self.meta))


def load_lareqa_pool(
    path: str | os.PathLike,
    languages: Sequence[str] | None = None,
    articles: Iterable[str] | None = None,
    context: bool = False,
) -> RetrievalPool:
    """LAReQA evaluation pool: every sentence of the selected articles, in every language, is a candidate.

    ``articles`` holds article keys as in the ``article`` column of :func:`load_lareqa` (so a held-out
    split from :func:`split_by_article` selects exactly its articles).
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


# --------------------------------------------------------------------------------------------------
# Table files and datasets
# --------------------------------------------------------------------------------------------------


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
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
            rows.append(obj)
    if not rows:
        raise DataError(f"{path}: the file holds no rows.")
    return rows


def _row_label(source: str, i: int, kind: str | None) -> str:
    if kind == "jsonl":
        return f"{source}: row {i + 1}"  # blank lines aside, row i+1 is line i+1
    if kind == "csv":
        return f"{source}: line {i + 2}"  # header is line 1
    return f"{source}: row {i}"


def validate_parallel(dataset: datasets.Dataset, source: str = "dataset", kind: str | None = None) -> None:
    """Check the canonical schema: required columns, non-empty texts, one row per (group, language)."""
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
                raise DataError(f"{_row_label(source, i, kind)}: empty '{c}'. Fill it or drop the row.")
        key = (str(cols["group_id"][i]), str(cols["lang"][i]))
        if key in seen:
            raise DataError(f"{_row_label(source, i, kind)}: duplicate (group_id, lang) = {key}, first seen at "
                            f"{_row_label(source, seen[key], kind).split(': ')[-1]}. Each question may appear once "
                            "per language; give translations the same group_id and different lang.")
        seen[key] = i
    if "negatives" in dataset.column_names:
        for i, negs in enumerate(dataset["negatives"]):
            if negs is None:
                continue
            if not isinstance(negs, list) or not all(isinstance(n, str) and n.strip() for n in negs):
                raise DataError(f"{_row_label(source, i, kind)}: 'negatives' must be a list of non-empty strings.")


def _canonicalise(ds: datasets.Dataset, source: str, kind: str | None,
                  column_mapping: Mapping[str, str] | None) -> datasets.Dataset:
    if column_mapping:
        absent = [c for c in column_mapping if c not in ds.column_names]
        if absent:
            raise DataError(f"{source}: column_mapping names column(s) {absent} that do not exist; "
                            f"found {ds.column_names}.")
        ds = ds.rename_columns(dict(column_mapping))
    validate_parallel(ds, source, kind)
    for c in ("group_id", "lang"):
        if ds.features[c].dtype != "string":
            ds = ds.cast_column(c, datasets.Value("string"))
    if "article" not in ds.column_names:
        # Without article information, each group is its own article: splits stay group-level,
        # so no translation of a test question leaks into training.
        ds = ds.add_column("article", list(ds["group_id"]))
    keep = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in ds.column_names]
    return ds.select_columns(keep)


def load_pairs(
    source: str | os.PathLike | datasets.Dataset | datasets.DatasetDict,
    column_mapping: Mapping[str, str] | None = None,
    split: str = "train",
) -> datasets.Dataset:
    """Load canonical pairs from a JSONL / Parquet / CSV file or any ``datasets`` dataset.

    ``column_mapping`` renames source columns to the canonical names, e.g.
    ``{"question": "query", "answer": "positive", "language": "lang", "qid": "group_id"}``.
    """
    if isinstance(source, datasets.DatasetDict):
        if split not in source:
            raise DataError(f"DatasetDict has no split '{split}'; it has {list(source)}.")
        source = source[split]
    if isinstance(source, datasets.Dataset):
        return _canonicalise(source, "dataset", None, column_mapping)
    path = Path(source)
    if not path.is_file():
        raise DataError(f"{path}: no such file.")
    kind = TEXT_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{path}: unsupported file type '{path.suffix}'. Use .jsonl, .parquet or .csv, "
                        "or a LAReQA directory.")
    if kind == "jsonl":
        ds = datasets.Dataset.from_list(_read_jsonl(path))
    elif kind == "parquet":
        ds = datasets.Dataset.from_parquet(str(path))
    else:
        ds = datasets.Dataset.from_csv(str(path))
    return _canonicalise(ds, str(path), kind, column_mapping)


def load_parallel_data(
    source: str | os.PathLike | datasets.Dataset | datasets.DatasetDict,
    languages: Sequence[str] | None = None,
    context: bool = False,
    column_mapping: Mapping[str, str] | None = None,
) -> datasets.Dataset:
    """Load any supported source into canonical form: a LAReQA directory, a table file or a dataset.

    ``source="bundled"`` (or ``"xquad-r-sample"``) gives the XQuAD-R sample shipped in the package.
    """
    if isinstance(source, str) and source in ("bundled", "xquad-r-sample"):
        source = bundled_sample_path()
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        return load_lareqa(source, languages, context)
    ds = load_pairs(source, column_mapping)
    return filter_languages(ds, languages) if languages else ds


# --------------------------------------------------------------------------------------------------
# Filtering, splitting, summary
# --------------------------------------------------------------------------------------------------


def _check_languages(languages: Sequence[str], available: Iterable[str], source: str) -> None:
    if isinstance(languages, str):
        raise DataError(f"{source}: languages must be a list such as ['en', 'de'], not the string {languages!r}.")
    avail = sorted(set(available))
    unknown = [l for l in languages if l not in avail]
    if unknown:
        raise DataError(f"{source}: unknown language(s) {unknown}; available: {avail}.")
    if not languages:
        raise DataError(f"{source}: empty language list; pass at least one of {avail}.")


def filter_languages(dataset: datasets.Dataset, languages: Sequence[str], min_languages: int = 1) -> datasets.Dataset:
    """Keep rows in ``languages``; then drop groups left with fewer than ``min_languages`` languages."""
    langs = dataset.unique("lang")
    _check_languages(languages, langs, "filter_languages")
    keep = set(languages)
    out = dataset.filter(lambda l: l in keep, input_columns="lang")
    if min_languages > 1:
        counts = Counter(out["group_id"])
        out = out.filter(lambda g: counts[g] >= min_languages, input_columns="group_id")
    if len(out) == 0:
        raise DataError(f"filter_languages: nothing left after keeping languages {sorted(keep)} with at least "
                        f"{min_languages} language(s) per group. Widen the language list or lower min_languages.")
    return out


def split_by_article(
    dataset: datasets.Dataset,
    test_size: float | int = 0.25,
    seed: int = 0,
) -> tuple[datasets.Dataset, datasets.Dataset]:
    """Split by article so that no translation of a test question, nor its article, is seen in training.

    ``test_size`` is a fraction of articles (0 < x < 1) or a number of articles (int >= 1).
    """
    col = "article" if "article" in dataset.column_names else "group_id"
    articles = sorted(set(dataset[col]))
    if isinstance(test_size, float) and 0 < test_size < 1:
        n_test = max(1, round(len(articles) * test_size))
    elif isinstance(test_size, int) and not isinstance(test_size, bool) and test_size >= 1:
        n_test = test_size
    else:
        raise DataError(f"split_by_article: test_size={test_size!r}; use a fraction in (0, 1) or a number of "
                        "articles >= 1.")
    if n_test >= len(articles):
        raise DataError(f"split_by_article: test_size={test_size!r} takes {n_test} of {len(articles)} article(s) "
                        "and leaves the training side empty; use a smaller test_size or more data.")
    rng = random.Random(seed)
    shuffled = articles[:]
    rng.shuffle(shuffled)
    test_articles = set(shuffled[:n_test])
    test = dataset.filter(lambda a: a in test_articles, input_columns=col)
    train = dataset.filter(lambda a: a not in test_articles, input_columns=col)
    if len(test) == 0 or len(train) == 0:  # pragma: no cover - guarded above, kept as a last defence
        raise DataError("split_by_article: one side of the split is empty; change test_size or seed.")
    return train, test


@dataclass
class DataSummary:
    """Shape of a parallel dataset: what the sampler can draw from."""

    num_rows: int
    num_groups: int
    num_articles: int
    groups_per_language: dict[str, int]
    languages_per_group: dict[int, int]  # number of languages -> number of groups

    def __str__(self) -> str:
        langs = ", ".join(f"{l}: {n}" for l, n in sorted(self.groups_per_language.items()))
        lpg = ", ".join(f"{k} lang: {v}" for k, v in sorted(self.languages_per_group.items()))
        return (f"{self.num_groups} groups, {self.num_rows} rows, {self.num_articles} articles\n"
                f"  groups per language: {langs}\n  languages per group: {lpg}")


def summarize(dataset: datasets.Dataset) -> DataSummary:
    """Groups per language and the distribution of languages per group."""
    groups = dataset["group_id"]
    langs = dataset["lang"]
    per_group = Counter(groups)
    arts = len(set(dataset["article"])) if "article" in dataset.column_names else len(per_group)
    return DataSummary(
        num_rows=len(dataset),
        num_groups=len(per_group),
        num_articles=arts,
        groups_per_language=dict(sorted(Counter(langs).items())),
        languages_per_group=dict(sorted(Counter(per_group.values()).items())),
    )
