"""Retrieval metrics from a run (the top-k candidates of each query) in pure NumPy: ``docs/design.md`` section 3.

What: :func:`compute_topk_metrics` scores a run, ``{qid: {docid: score}}`` or any object with
``query_ids`` / ``doc_ids`` / ``scores`` (``hf_hybrid.retrieval.run_file.Run``), against qrels
``{qid: {docid: relevance}}`` (relevant iff relevance > 0) and the languages of queries and documents. It
returns the dict of :func:`metrics_core.compute_retrieval_metrics` (same keys, so ``RetrievalResult``,
the model card and the metric Space read both), computed from the run alone: a corpus of millions of
passages is evaluated from its top-100 lists without a score matrix.

Why: the dense path ranks every candidate for every query; at corpus scale only the top ``k`` of each
query exist (FAISS search, a TREC run file). Why by hand: ``ranx`` gives nDCG/Recall/MRR/mAP (and the
tests cross-check those against it) but not the language-pair matrix, the language shares or MaxRD, and
the dense numbers must be reproduced bit for bit, which needs the same float operations as
:mod:`ranking`. Like ``metrics_core.py`` and ``ranking.py`` this file depends on NumPy and its sibling
``metrics_core.py`` only and is shipped byte for byte in ``spaces/lareqa_metric/``.

Definitions (``k`` = the run depth: ``k=None`` takes the longest list; longer lists are cut to ``k``):

* rank = 1-based position in the query's list after a stable sort by score, descending: equal scores
  keep the run's order (a run built from a score matrix in candidate order therefore has the dense tie
  policy). ``R`` = the number of relevant documents of the query in the qrels, retrieved or not;
  ``r_1 < ... < r_n`` the ranks of the ``n <= R`` retrieved ones.
* ``map`` = mAP@k: ``AP@k = (1/R) * sum_i i / r_i`` (the ``trec_eval`` / ``ranx`` denominator ``R``,
  not ``min(R, k)``). A missing relevant document adds 0; when all are in the top k it is the dense AP,
  so with ``k`` = pool size it IS the LAReQA mAP, and otherwise it is a lower bound of it.
* ``recall@j = #{r_i <= j} / R`` and ``mrr@m``, ``ndcg@m`` as in the dense path (nDCG gains are the qrels
  relevance, ideal DCG from the ``m`` largest; with binary qrels exactly the dense binary nDCG). Every
  cut-off must be ``<= k``: default Recall cut-offs are those of ``(1, 5, 10, 100)`` up to ``k``, and ``k``.
* ``max_rd`` = MaxRD@k: per query, ``max - min`` of the ranks of its relevant documents where those not
  in the top k count at rank ``k + 1``; mean over the evaluated queries. All relevant retrieved: the
  dense MaxRD (so ``k`` = pool size gives MaxRD exactly); otherwise a lower bound of it, and 0 when none
  is retrieved (read it next to ``recall@k``).
* language-pair cell ``(x, y)``: queries of language ``x``, their list restricted to documents of
  language ``y`` (ranks renumbered 1, 2, ...), ``R`` = their relevant documents in ``y``.
* ``top_k_language_share``: for query language ``x``, the share of language ``y`` among the first
  ``min(top_k, k)`` entries of every list of ``x``; divided by the number of those entries (the dense
  ``#queries * k`` when every list is full; a short list does not count its empty slots).
* queries: those of the run, then (``missing_queries="zero"``, like ``ranx``'s ``make_comparable`` and
  ``trec_eval -c``) the qrels queries with a relevant document that the run lacks, scored as empty lists
  and counted in ``run.num_missing_from_run``; ``"skip"`` leaves them out, ``"error"`` refuses them.
  A query without a relevant document is skipped and counted (``num_skipped``), as in the dense path.

Example::

    out = compute_topk_metrics({"q1": {"d1": 0.9, "d2": 0.5}}, {"q1": {"d2": 1}}, k=2, k_values=(1, 2),
                               mrr_k=2, ndcg_k=2)
    out["pool"]["map"]   # 0.5: the relevant d2 is at rank 2

References: LAReQA (Roy et al., EMNLP 2020) for mAP/MaxRD; ``trec_eval`` and ``ranx`` for AP@k/nDCG.
"""

from __future__ import annotations

from itertools import chain
from typing import Any, Mapping, Sequence

import numpy as np

try:  # inside the hf_hybrid package
    from .metrics_core import _assemble
except ImportError:  # the metric Space ships this file next to metrics_core.py, outside any package
    from metrics_core import _assemble

__all__ = ["TOPK_VERSION", "compute_topk_metrics"]

TOPK_VERSION = "1.0"
_BUDGET = 1 << 22  # elements of one (queries x k) working block: bounds memory on 10k x 1000 runs
_MISSING = ("zero", "skip", "error")


def _run_lists(run: Any) -> tuple[list[str], list[Sequence[Any]], list[Sequence[Any]]]:
    """``(query ids, doc id lists, score lists)`` of a dict run or a ``Run``-like object."""
    if isinstance(run, Mapping):
        qids, docs, scores = [], [], []
        for q, row in run.items():
            if not isinstance(row, Mapping):
                raise ValueError(f"run[{q!r}] is {type(row).__name__}; the dict form is {{qid: {{docid: score}}}}.")
            qids.append(str(q))
            docs.append(list(row.keys()))
            scores.append(list(row.values()))
        return qids, docs, scores
    if all(hasattr(run, a) for a in ("query_ids", "doc_ids", "scores")):
        qids = [str(q) for q in run.query_ids]
        docs, scores = list(run.doc_ids), list(run.scores)
        if not len(qids) == len(docs) == len(scores):
            raise ValueError(f"run has {len(qids)} query_ids, {len(docs)} doc_ids rows and {len(scores)} scores rows.")
        if len(set(qids)) != len(qids):
            dup = next(q for i, q in enumerate(qids) if q in qids[:i])
            raise ValueError(f"run lists query {dup!r} twice; merge its candidates into one list.")
        for q, d, s in zip(qids, docs, scores):
            if len(d) != len(s):
                raise ValueError(f"run query {q!r} has {len(d)} doc ids but {len(s)} scores.")
        return qids, docs, scores
    raise TypeError("run must be {qid: {docid: score}} or have query_ids/doc_ids/scores, "
                    f"got {type(run).__name__}.")


def _lang_list(ids: Sequence[str], langs: Mapping[str, Any] | None, what: str) -> list[str]:
    if langs is None:
        return ["und"] * len(ids)
    out = list(map(langs.get, ids))  # C-level lookups: this runs once per distinct document
    if None in out:
        missing = [i for i, lang in zip(ids, out) if lang is None]
        raise ValueError(f"{len(missing)} {what} id(s) have no language in {what}_langs, e.g. {missing[:3]}; give "
                         f"every {'query' if what == 'query' else 'retrieved and relevant document'} a language "
                         "(or both query_langs and doc_langs None: one language 'und').")
    return out


def _compact(mask: np.ndarray, rank_of: np.ndarray, gain: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Ranks (ascending, ``inf`` padding) and gains of the masked entries of each row, in ``width`` columns."""
    rows, pos = np.nonzero(mask)
    col = (np.cumsum(mask, axis=1) - 1)[rows, pos]
    ranks = np.full((mask.shape[0], width), np.inf)
    gains = np.zeros((mask.shape[0], width))
    ranks[rows, col] = rank_of[rows, pos]
    gains[rows, col] = gain[rows, pos]
    return ranks, gains


def _query_metrics(ranks, gains, n_rel, ideal, depth, k_values, mrr_k, ndcg_k) -> dict[str, np.ndarray]:
    """Per-query AP@k, Recall@j, MRR, nDCG and MaxRD@k from retrieved relevant ranks and the qrels size ``n_rel``.

    The float operations are those of :func:`ranking.rank_metrics` on the same ``(Q, width)`` array, so a
    query whose relevant documents are all retrieved gets bit-identical numbers.
    """
    q, width = ranks.shape
    finite = np.isfinite(ranks)
    n_hit = finite.sum(axis=1)
    has = n_rel > 0
    pos = np.arange(1, width + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.where(finite, pos / np.where(finite, ranks, 1.0), 0.0)
        out = {"ap": np.where(has, prec.sum(axis=1) / np.maximum(n_rel, 1), np.nan)}
    for k in k_values:
        out[f"recall@{k}"] = np.where(has, (finite & (ranks <= k)).sum(axis=1) / np.maximum(n_rel, 1), np.nan)
    min_rank = ranks[:, 0]
    out[f"mrr@{mrr_k}"] = np.where(has & (min_rank <= mrr_k), 1.0 / np.where(has, min_rank, 1.0), 0.0)
    out[f"mrr@{mrr_k}"] = np.where(has, out[f"mrr@{mrr_k}"], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        dcg = np.where(finite & (ranks <= ndcg_k), gains / np.log2(np.where(finite, ranks, 1.0) + 1.0), 0.0)
        out[f"ndcg@{ndcg_k}"] = np.where(has, dcg.sum(axis=1) / np.where(has, ideal, 1.0), np.nan)
    last = ranks[np.arange(q), np.clip(n_hit - 1, 0, None)]
    max_rank = np.where(n_hit == n_rel, last, depth + 1.0)
    out["rd"] = np.where(has, max_rank - np.where(n_hit > 0, min_rank, depth + 1.0), np.nan)
    return out


def compute_topk_metrics(
    run: Any,
    qrels: Mapping[str, Mapping[str, Any]],
    *,
    doc_langs: Mapping[str, str] | None = None,
    query_langs: Mapping[str, str] | None = None,
    k: int | None = None,
    languages: Sequence[str] | None = None,
    k_values: Sequence[int] | None = None,
    mrr_k: int = 10,
    ndcg_k: int = 10,
    top_k: int = 10,
    missing_queries: str = "zero",
    progress: Any = None,
) -> dict[str, Any]:
    """The section 3 metrics of a run, in the dict layout of ``compute_retrieval_metrics`` (see module docstring).

    Args:
        run: ``{qid: {docid: score}}`` (dict order breaks ties) or an object with ``query_ids``, ``doc_ids``
            (ranked lists) and ``scores`` (same shape), such as ``hf_hybrid.retrieval.run_file.Run``.
        qrels: ``{qid: {docid: relevance}}``; relevance > 0 is relevant (nDCG uses it as the gain).
        doc_langs, query_langs: id -> language; both None: one language ``"und"``.
        k: run depth (default: the longest list). ``k_values`` (Recall cut-offs), ``mrr_k`` and ``ndcg_k``
            must be ``<= k``; ``top_k`` is capped at ``k`` as the dense path caps it at the pool size.
        languages: order of the matrix rows/columns (default: sorted languages present).
        missing_queries: ``"zero"`` | ``"skip"`` | ``"error"``: qrels queries absent from the run.
        progress: optional ``progress(done_queries, total_queries)``.

    Returns the dense layout (``pool``, ``pool_by_query_language``, ``matrix``, ``mono``, ``cross``,
    ``top_k_language_share``, ``settings``) with ``score_function = "run"``, ``num_candidates`` = distinct
    documents in the cut run, and a ``run`` entry (``k``, query counts).

    Raises:
        ValueError: malformed run or qrels, a non-finite score, a document twice in a list, ids without a
            language, a cut-off above ``k``, or no query with a relevant document.
    """
    if missing_queries not in _MISSING:
        raise ValueError(f"missing_queries must be one of {_MISSING}, got {missing_queries!r}.")
    if (doc_langs is None) != (query_langs is None):
        raise ValueError("give both doc_langs and query_langs, or neither (then everything is one language 'und').")
    qids, doc_rows, score_rows = _run_lists(run)
    lengths = np.array([len(d) for d in doc_rows], dtype=np.int64)
    depth = int(k) if k is not None else max(1, int(lengths.max(initial=0)))
    if depth < 1:
        raise ValueError(f"k must be >= 1, got {k}.")
    if k_values is None:
        k_values = sorted({j for j in (1, 5, 10, 100) if j <= depth} | {depth})
    k_values = tuple(int(j) for j in k_values)
    for name, cut in [*(("k_values", j) for j in k_values), ("mrr_k", mrr_k), ("ndcg_k", ndcg_k), ("top_k", top_k)]:
        if int(cut) < 1:
            raise ValueError(f"{name} must be >= 1, got {cut}.")
        if name != "top_k" and int(cut) > depth:
            raise ValueError(f"{name}={cut} needs a run of depth >= {cut}, but k={depth}: a top-{depth} run cannot "
                             f"say what is at rank {cut}. Pass {name}={depth} or a deeper run.")

    # ------------------------------------------------------------ flat run: sorted by (query, score desc, order)
    flat_docs = [str(d) for d in chain.from_iterable(doc_rows)]
    flat_scores = np.fromiter(chain.from_iterable(score_rows), dtype=np.float64, count=len(flat_docs))
    if not np.isfinite(flat_scores).all():
        i = int(np.argmin(np.isfinite(flat_scores)))
        row = int(np.searchsorted(np.cumsum(lengths), i, side="right"))
        raise ValueError(f"run query {qids[row]!r}: score {flat_scores[i]} of doc {flat_docs[i]!r} is not finite.")
    row_of = np.repeat(np.arange(len(qids), dtype=np.int64), lengths)
    same = row_of[1:] == row_of[:-1]
    if np.any(np.diff(flat_scores)[same] > 0):  # not best-first: stable sort, equal scores keep run order
        order = np.lexsort((-flat_scores, row_of))
        flat_docs = [flat_docs[i] for i in order]
        flat_scores = flat_scores[order]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    pos = np.arange(len(flat_docs), dtype=np.int64) - np.repeat(starts, lengths)
    keep = pos < depth
    if not keep.all():
        flat_docs = [d for d, kp in zip(flat_docs, keep) if kp]
        row_of, pos = row_of[keep], pos[keep]

    # ------------------------------------------------------------ queries, documents, relevance
    judged = {str(q): {str(d): r for d, r in docs.items() if _relevance(q, d, r) > 0} for q, docs in qrels.items()}
    in_run = set(qids)
    missing = [q for q, rel in judged.items() if rel and q not in in_run]
    if missing and missing_queries == "error":
        raise ValueError(f"{len(missing)} qrels queries with relevant documents are not in the run, e.g. "
                         f"{missing[:3]}; use missing_queries='zero' (score them 0) or 'skip'.")
    all_q = qids + (missing if missing_queries == "zero" else [])
    nq = len(all_q)
    if nq == 0:
        raise ValueError("no queries: the run is empty and no qrels query is scored (nothing to evaluate).")
    doc_index = {d: i for i, d in enumerate(dict.fromkeys(flat_docs))}
    run_doc = np.fromiter(map(doc_index.__getitem__, flat_docs), np.int64, len(flat_docs))
    num_retrieved_docs = len(doc_index)
    rq, rd, rg = [], [], []
    for i, q in enumerate(all_q):
        for d, r in judged.get(q, {}).items():
            rq.append(i)
            rd.append(doc_index.setdefault(d, len(doc_index)))
            rg.append(float(r))
    rq, rd, rg = np.array(rq, np.int64), np.array(rd, np.int64), np.array(rg, np.float64)
    n_docs = len(doc_index)
    pair = row_of * n_docs + run_doc
    sorted_pairs = np.sort(pair)  # (np.unique hashes, several times slower on 1M keys)
    twice = sorted_pairs[1:][sorted_pairs[1:] == sorted_pairs[:-1]]
    if len(twice):
        i = int(np.argmax(pair == twice[0]))
        raise ValueError(f"run query {qids[row_of[i]]!r} lists doc {flat_docs[i]!r} twice.")
    run_gain = np.zeros(len(pair))
    if len(rq):  # relevance of each run entry: look its (query, doc) key up among the sorted qrels keys
        order = np.argsort(rq * n_docs + rd)
        keys = (rq * n_docs + rd)[order]
        at = np.minimum(np.searchsorted(keys, pair), len(keys) - 1)
        run_gain = np.where(keys[at] == pair, rg[order][at], 0.0)

    ql = _lang_list(all_q, query_langs, "query")
    dl = _lang_list(list(doc_index), doc_langs, "doc")
    if languages is None:
        langs = sorted(str(x) for x in set(ql) | set(dl))
    else:
        langs = [str(x) for x in languages]
        unknown = sorted({str(x) for x in set(ql) | set(dl)} - set(langs))
        if len(set(langs)) != len(langs) or unknown:
            raise ValueError(f"languages={langs}: duplicates, or languages {unknown} of the data are not listed.")
    lang_index = {x: langs.index(str(x)) for x in set(ql) | set(dl)}  # raw value -> row of its name
    n_lang = len(langs)
    q_lang = np.fromiter(map(lang_index.__getitem__, ql), np.int64, len(ql))
    d_lang = np.fromiter(map(lang_index.__getitem__, dl), np.int64, len(dl))
    run_lang = d_lang[run_doc]

    n_rel = np.bincount(rq, minlength=nq)
    if not n_rel.any():
        raise ValueError("no query has a relevant document: no run query occurs in the qrels with relevance > 0. "
                         "Check that the run and the qrels use the same query ids.")
    width = max(1, int(n_rel.max()))
    n_rel_y = np.bincount(rq * n_lang + d_lang[rd], minlength=nq * n_lang).reshape(nq, n_lang)
    ideal, ideal_y = _ideal_dcg(rq, rg, d_lang[rd], nq, n_lang, ndcg_k)

    # ------------------------------------------------------------ per-query metrics, one block of queries at a time
    rank_keys = ["ap", *[f"recall@{j}" for j in k_values], f"mrr@{mrr_k}", f"ndcg@{ndcg_k}"]
    pool_q = {key: np.full(nq, np.nan) for key in rank_keys + ["rd"]}
    cell_q = {key: np.full((nq, n_lang), np.nan) for key in rank_keys}
    k_eff = min(int(top_k), depth)
    share_counts = np.bincount(q_lang[row_of[pos < k_eff]] * n_lang + run_lang[pos < k_eff],
                               minlength=n_lang * n_lang).reshape(n_lang, n_lang)
    bounds = np.searchsorted(row_of, np.arange(nq + 1))
    step = max(1, _BUDGET // max(depth, width))
    for a in range(0, nq, step):
        b = min(nq, a + step)
        seg = slice(int(bounds[a]), int(bounds[b]))
        r, p = row_of[seg] - a, pos[seg]
        lang = np.full((b - a, depth), -1, dtype=np.int64)
        gain = np.zeros((b - a, depth))
        lang[r, p], gain[r, p] = run_lang[seg], run_gain[seg]
        hit = gain > 0
        ranks, gains = _compact(hit, np.broadcast_to(np.arange(1.0, depth + 1), hit.shape), gain, width)
        m = _query_metrics(ranks, gains, n_rel[a:b], ideal[a:b], depth, k_values, mrr_k, ndcg_k)
        for key in pool_q:
            pool_q[key][a:b] = m[key]
        for y in range(n_lang):
            in_y = lang == y
            ranks, gains = _compact(hit & in_y, np.cumsum(in_y, axis=1).astype(np.float64), gain, width)
            m = _query_metrics(ranks, gains, n_rel_y[a:b, y], ideal_y[a:b, y], depth, k_values, mrr_k, ndcg_k)
            for key in rank_keys:
                cell_q[key][a:b, y] = m[key]
        if progress is not None:
            progress(b, nq)

    # ------------------------------------------------------------ means: the dense path's own aggregation
    ok = n_rel > 0
    pool_n = np.bincount(q_lang[ok], minlength=n_lang)
    pool_skip = np.bincount(q_lang[~ok], minlength=n_lang)
    pool_sum = {key: np.zeros(n_lang) + np.bincount(q_lang[ok], weights=v[ok], minlength=n_lang)
                for key, v in pool_q.items()}
    cell_n = np.zeros((n_lang, n_lang), dtype=np.int64)
    cell_skip = np.zeros_like(cell_n)
    cell_sum = {key: np.zeros((n_lang, n_lang)) for key in rank_keys}
    for y in range(n_lang):
        ok = n_rel_y[:, y] > 0
        cell_n[:, y] = np.bincount(q_lang[ok], minlength=n_lang)
        cell_skip[:, y] = np.bincount(q_lang[~ok], minlength=n_lang)
        for key in rank_keys:
            cell_sum[key][:, y] += np.bincount(q_lang[ok], weights=cell_q[key][ok, y], minlength=n_lang)
    q_per_lang = np.bincount(q_lang, minlength=n_lang)
    out = _assemble(langs, rank_keys, pool_sum, pool_n, pool_skip, cell_sum, cell_n, cell_skip, share_counts,
                    q_per_lang, k_eff, top_k, k_values, mrr_k, ndcg_k, "run", nq, num_retrieved_docs)
    totals = share_counts.sum(axis=1)
    out["top_k_language_share"]["shares"] = [[float(share_counts[x, y] / totals[x]) if totals[x] else None
                                              for y in range(n_lang)] for x in range(n_lang)]
    out["run"] = {"k": depth, "num_queries_in_run": len(qids), "num_missing_from_run": len(missing),
                  "missing_queries": missing_queries, "num_retrieved": len(flat_docs)}
    out["settings"].update({
        "k": depth, "topk_version": TOPK_VERSION,
        "ranks": "1-based positions in the run after a stable sort by score (ties keep the run's order)",
        "map": "mAP@k: AP truncated at k, denominator = all relevant documents in the qrels",
        "max_rd": "MaxRD@k: max - min rank of the relevant documents, those not in the top k at rank k + 1",
        "skipped": "queries without a relevant document (in the qrels, or in the cell's document language) are "
                   "left out of the means and counted in num_skipped",
    })
    return out


def _relevance(q: Any, d: Any, r: Any) -> float:
    try:
        value = float(r)
    except (TypeError, ValueError):
        raise ValueError(f"qrels[{q!r}][{d!r}] = {r!r} is not a number (relevance grade, > 0 = relevant).") from None
    if value != value:
        raise ValueError(f"qrels[{q!r}][{d!r}] is NaN; give a relevance grade.")
    return value


def _ideal_dcg(rq, rg, rlang, nq, n_lang, ndcg_k) -> tuple[np.ndarray, np.ndarray]:
    """Ideal DCG@ndcg_k per query (pool) and per (query, document language), from the qrels gains."""
    disc = 1.0 / np.log2(np.arange(2, ndcg_k + 2, dtype=np.float64))

    def best(keys: np.ndarray, n_keys: int) -> np.ndarray:
        order = np.lexsort((-rg, keys))  # by key, then gain descending
        k_sorted, g_sorted = keys[order], rg[order]
        first = np.searchsorted(k_sorted, np.arange(n_keys))
        rank = np.arange(len(k_sorted)) - first[k_sorted]
        top = np.zeros((n_keys, ndcg_k))
        sel = rank < ndcg_k
        top[k_sorted[sel], rank[sel]] = g_sorted[sel]
        return np.cumsum(top * disc, axis=1)[:, -1]  # sequential sum: the dense path's cumsum of disc

    return best(rq, nq), best(rq * n_lang + rlang, nq * n_lang).reshape(nq, n_lang)
