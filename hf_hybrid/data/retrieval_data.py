"""``RetrievalData``: a retrieval benchmark as queries, qrels and (optionally) a corpus, for corpus-scale runs.

What: the form MIRACL (:func:`hf_hybrid.data.load_miracl`), BEIR (:func:`hf_hybrid.data.load_beir`) and any
:class:`RetrievalPool` (:meth:`RetrievalData.from_pool`) share on the path *encode the corpus -> search ->
score the run*: queries (id, text, language), qrels ``{qid: {docid: relevance}}`` (relevance > 0 is
relevant, as in TREC), and corpus rows (id, title, text, language) that
``hf_hybrid.retrieval.corpus`` encodes and whose languages the top-k metrics read.

Why a second type next to :class:`RetrievalPool`: a pool holds every candidate's text and group tuple and is
ranked densely (fine for XQuAD-R's 13k sentences); a MIRACL corpus has millions of passages that are encoded
in shards and searched, and only its ids and languages are needed to score a run. ``corpus="ids"`` loads
just those; :meth:`to_pool` turns a small set into a pool for the dense metrics (BEIR's mapping: a query's
group is its id, a document's groups are the queries that judge it relevant).

Example::

    data = load_miracl("/data/miracl", split="dev", languages=["de", "sw"], corpus="ids")
    out = compute_topk_metrics(run, data.qrels, doc_langs=data.doc_lang_map(), query_langs=data.query_lang_map())
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from .errors import DataError
from .pool import RetrievalPool

__all__ = ["CORPUS_MODES", "RetrievalData"]

#: what a loader reads of the corpus: everything, ids and languages only (scoring a run), or nothing
CORPUS_MODES = ("full", "ids", "none")


@dataclass
class RetrievalData:
    """Queries, qrels and corpus of a retrieval benchmark (corpus fields are None when not loaded).

    Args:
        query_ids, query_texts, query_langs: one entry per query.
        qrels: ``{qid: {docid: relevance}}``; may judge documents of other languages or none at all.
        doc_ids, doc_langs: the corpus (``corpus="ids"`` or ``"full"``); doc_titles, doc_texts: ``"full"`` only.
        name, meta: a label and where the data came from (format, split, files).
    """

    query_ids: list[str]
    query_texts: list[str]
    query_langs: list[str]
    qrels: dict[str, dict[str, int]]
    doc_ids: list[str] | None = None
    doc_titles: list[str] | None = None
    doc_texts: list[str] | None = None
    doc_langs: list[str] | None = None
    name: str = "data"
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not len(self.query_ids) == len(self.query_texts) == len(self.query_langs):
            raise DataError(f"RetrievalData '{self.name}': {len(self.query_ids)} query ids, {len(self.query_texts)} "
                            f"texts and {len(self.query_langs)} languages; give one of each per query.")
        n = None if self.doc_ids is None else len(self.doc_ids)
        for what in ("doc_titles", "doc_texts", "doc_langs"):
            value = getattr(self, what)
            if value is not None and len(value) != n:
                raise DataError(f"RetrievalData '{self.name}': {what} has {len(value)} entries for "
                                f"{n or 0} doc ids; give one per document.")
        if self.doc_ids is not None and self.doc_langs is None:
            raise DataError(f"RetrievalData '{self.name}': doc_ids without doc_langs; give every document a language.")

    @property
    def has_corpus(self) -> bool:
        return self.doc_ids is not None

    @property
    def languages(self) -> list[str]:
        """Every language of the queries and (when loaded) the documents, sorted."""
        return sorted(set(self.query_langs) | set(self.doc_langs or ()))

    def __repr__(self) -> str:
        docs = "not loaded" if self.doc_ids is None else len(self.doc_ids)
        return (f"RetrievalData(name={self.name!r}, queries={len(self.query_ids)}, judged={len(self.qrels)}, "
                f"documents={docs}, languages={self.languages})")

    def query_lang_map(self) -> dict[str, str]:
        """``{qid: language}`` for :func:`compute_topk_metrics`."""
        return dict(zip(self.query_ids, self.query_langs))

    def doc_lang_map(self) -> dict[str, str]:
        """``{docid: language}`` for :func:`compute_topk_metrics` (needs the corpus ids)."""
        self._need("ids")
        return dict(zip(self.doc_ids, self.doc_langs))

    def corpus_rows(self) -> Iterator[dict[str, str]]:
        """``{"id", "title", "text", "lang"}`` per document, in corpus order (what ``retrieval.corpus`` reads)."""
        self._need("full")
        for row in zip(self.doc_ids, self.doc_titles, self.doc_texts, self.doc_langs):
            yield dict(zip(("id", "title", "text", "lang"), row))

    def corpus_dataset(self) -> Any:
        """The corpus as a ``datasets.Dataset`` with columns ``id``, ``title``, ``text``, ``lang``."""
        import datasets

        self._need("full")
        return datasets.Dataset.from_dict({"id": self.doc_ids, "title": self.doc_titles, "text": self.doc_texts,
                                           "lang": self.doc_langs})

    def _need(self, what: str) -> None:
        if self.doc_ids is None or (what == "full" and self.doc_texts is None):
            raise DataError(f"RetrievalData '{self.name}': the corpus {'texts are' if what == 'full' else 'is'} not "
                            f"loaded; load it with corpus=\"{what}\".")

    def to_pool(self) -> RetrievalPool:
        """A :class:`RetrievalPool` (small sets): queries judged in the qrels, every document a candidate.

        A query's group is its id; a document's groups are the queries that judge it relevant (> 0).
        """
        self._need("full")
        groups: dict[str, list[str]] = {}
        for qid, judged in self.qrels.items():
            for docid, rel in judged.items():
                if rel > 0:
                    groups.setdefault(docid, []).append(qid)
        keep = [i for i, q in enumerate(self.query_ids) if q in self.qrels]
        if not keep:
            raise DataError(f"RetrievalData '{self.name}': no query has a judgement in the qrels; nothing to rank.")
        return RetrievalPool(
            query_ids=[self.query_ids[i] for i in keep], query_groups=[self.query_ids[i] for i in keep],
            query_langs=[self.query_langs[i] for i in keep], query_texts=[self.query_texts[i] for i in keep],
            cand_ids=list(self.doc_ids), cand_groups=[tuple(groups.get(d, ())) for d in self.doc_ids],
            cand_langs=list(self.doc_langs),
            cand_texts=[f"{t} {x}".strip() for t, x in zip(self.doc_titles, self.doc_texts)],
            name=self.name, meta=dict(self.meta))

    @classmethod
    def from_pool(cls, pool: RetrievalPool) -> RetrievalData:
        """The qrels view of a pool: query ``q`` judges candidate ``c`` relevant (1) iff ``c`` answers q's group."""
        by_group: dict[str, list[str]] = {}
        for cid, groups in zip(pool.cand_ids, pool.cand_groups):
            for g in dict.fromkeys(groups):
                by_group.setdefault(g, []).append(cid)
        qrels = {q: dict.fromkeys(by_group[g], 1) for q, g in zip(pool.query_ids, pool.query_groups) if g in by_group}
        return cls(query_ids=list(pool.query_ids), query_texts=list(pool.query_texts),
                   query_langs=list(pool.query_langs), qrels=qrels, doc_ids=list(pool.cand_ids),
                   doc_titles=[""] * len(pool.cand_ids), doc_texts=list(pool.cand_texts),
                   doc_langs=list(pool.cand_langs), name=pool.name, meta={**pool.meta, "from_pool": True})

    def select_languages(self, languages: Sequence[str]) -> RetrievalData:
        """The queries and documents in ``languages``; qrels keep the kept queries (and, with a corpus, documents)."""
        keep = set(languages)
        unknown = sorted(keep - set(self.languages))
        if unknown:
            raise DataError(f"RetrievalData '{self.name}': languages {unknown} are not in the data "
                            f"(available: {self.languages}).")
        qi = [i for i, x in enumerate(self.query_langs) if x in keep]
        q_keep = {self.query_ids[i] for i in qi}
        docs: dict[str, Any] = {}
        doc_ok = None
        if self.doc_ids is not None:
            di = [i for i, x in enumerate(self.doc_langs) if x in keep]
            doc_ok = {self.doc_ids[i] for i in di}
            for what in ("doc_ids", "doc_titles", "doc_texts", "doc_langs"):
                value = getattr(self, what)
                docs[what] = None if value is None else [value[i] for i in di]
        qrels = {q: {d: r for d, r in judged.items() if doc_ok is None or d in doc_ok}
                 for q, judged in self.qrels.items() if q in q_keep}
        return RetrievalData([self.query_ids[i] for i in qi], [self.query_texts[i] for i in qi],
                             [self.query_langs[i] for i in qi], qrels, name=self.name, meta=dict(self.meta), **docs)
