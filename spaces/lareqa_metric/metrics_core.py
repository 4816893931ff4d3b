"""LAReQA-style retrieval metrics in pure NumPy: the single implementation of ``docs/design.md`` section 3.

This file and :mod:`ranking` (the rank counting it calls) are the one source of truth for the metric
numbers; :mod:`topk` computes the same numbers from a top-k run.  They are imported by
``hf_hybrid.evaluation`` and shipped, byte for byte and under the same names, as
``spaces/lareqa_metric/metrics_core.py``, ``ranking.py`` and ``topk.py`` next to the ``evaluate`` metric
script (the Space runs without hf_hybrid installed, so the three files depend on NumPy only).  After
editing any of them, regenerate the copies with::

    python -m hf_hybrid.evaluation.metrics_core spaces/lareqa_metric

(``tests/evaluation/test_metric_space.py`` fails while the files differ).

Why hand-written: the published LAReQA numbers need three things no maintained library gives together:
relevance through *multi-valued* candidate groups (one sentence answers several questions), the
language-pair matrix with per-cell skipping, and a fixed tie policy, all over a pool of ~13k x ~13k
scores in bounded memory.  ``sklearn.metrics.average_precision_score`` is the reference the tests
compare against; it is too slow to loop over 13k queries x 121 cells and groups tied scores together.

Conventions (``docs/design.md`` section 3):

* ranks (1-based, ties broken by candidate order) and AP: see :mod:`ranking`;
* pool: all queries against all candidates, relevant = the group's answer in every language;
  cell ``(x, y)``: queries of language x against candidates of language y only;
* queries without a relevant candidate are skipped and counted (``num_skipped``), never silently;
* MaxRD: in the pool, max rank - min rank of a query's relevant candidates, averaged over the
  queries that have at least one;
* top-k language share: for each query language x, the fraction of the top-k pool results (all
  queries of x, relevant or not) that are in candidate language y.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

try:  # inside the hf_hybrid package
    from .ranking import rank_metrics, relevant_ranks, top_k_block_counts
except ImportError:  # the metric Space ships this file next to ranking.py, outside any package
    from ranking import rank_metrics, relevant_ranks, top_k_block_counts

__all__ = ["CORE_VERSION", "compute_retrieval_metrics", "rank_metrics"]

CORE_VERSION = "1.0"

# Largest number of elements of one temporary array (scores chunk or comparison mask).  2**24 keeps the
# peak below ~200 MB on the full XQuAD-R pool while keeping NumPy's vectorised loops long.
_DEFAULT_BUDGET = 1 << 24
_PAD = -1


def _as_str_list(values: Iterable[Any], name: str) -> list[str]:
    out = []
    for i, v in enumerate(values):
        if v is None:
            raise ValueError(f"{name}[{i}] is None; every entry must be a group id or language code.")
        out.append(str(v))
    return out


def _cand_group_tuples(candidate_groups: Iterable[Any]) -> list[tuple[str, ...]]:
    """Normalise candidate groups: a str is one group, None/empty is a distractor, else an iterable of ids."""
    out: list[tuple[str, ...]] = []
    for i, g in enumerate(candidate_groups):
        if g is None:
            out.append(())
        elif isinstance(g, (str, bytes, int, np.integer)):
            out.append((str(g),))
        else:
            try:
                out.append(tuple(str(x) for x in g))
            except TypeError:
                raise ValueError(
                    f"candidate_groups[{i}] = {g!r}: expected a tuple/list of group ids (empty for a distractor)."
                ) from None
    return out


def _check_finite(block: np.ndarray, row0: int, what: str) -> None:
    if not np.isfinite(block).all():
        r, c = (int(i) for i in np.argwhere(~np.isfinite(block))[0])
        col = "candidate" if what == "scores" else "dimension"
        raise ValueError(
            f"{what} contain a non-finite value ({block[r, c]}) at row {row0 + r}, {col} {c}; NaN/inf has no "
            "rank. Check the model output (fp16 overflow?) or the score matrix."
        )


def compute_retrieval_metrics(
    scores: Any = None,
    *,
    query_groups: Sequence[Any],
    candidate_groups: Sequence[Any],
    query_langs: Sequence[str] | None = None,
    candidate_langs: Sequence[str] | None = None,
    query_embeddings: Any = None,
    candidate_embeddings: Any = None,
    languages: Sequence[str] | None = None,
    k_values: Sequence[int] = (1, 5, 10, 100),
    mrr_k: int = 10,
    ndcg_k: int = 10,
    top_k: int = 10,
    normalize: bool = False,
    max_chunk_elements: int = _DEFAULT_BUDGET,
    progress: Any = None,
) -> dict[str, Any]:
    """All ``docs/design.md`` section 3 metrics from a score matrix or from embeddings, as a JSON-ready dict.

    Args:
        scores: ``(num_queries, num_candidates)`` array-like (NumPy, memmap, list of rows, CPU tensor);
            rows are read one chunk at a time, so a memmap never has to fit in memory.  Give either this
            or both embeddings.
        query_groups: group id of each query (str; other values are converted with ``str``).
        candidate_groups: per candidate, the tuple of group ids it answers (empty/None = distractor;
            a plain str counts as one id).  Query q is relevant to candidate c iff its group is in c's.
        query_langs, candidate_langs: language of each query / candidate.  Both omitted: one language
            ``"und"`` (monolingual data such as BEIR).
        query_embeddings, candidate_embeddings: ``(n, d)`` arrays; scores are their dot products,
            computed chunk by chunk in float32.  Reported as ``"cosine"`` when every row has unit L2 norm
            (or ``normalize=True`` makes it so), else ``"dot"``.
        languages: order of the matrix rows/columns (default: sorted union of the languages present).
        k_values: cut-offs of Recall@k; ``mrr_k``/``ndcg_k``: cut-offs of MRR and nDCG; ``top_k``: depth
            of the language-share statistic.
        max_chunk_elements: bound on the size of every temporary array (memory knob, not a result knob).
        progress: optional callable ``progress(done_queries, total_queries)`` called after each chunk.

    Raises:
        ValueError: empty inputs, mismatched lengths, non-finite scores/embeddings, unknown languages,
            or no query with any relevant candidate.
    """
    # ---------------------------------------------------------------- validate inputs
    qg = _as_str_list(query_groups, "query_groups")
    cg = _cand_group_tuples(candidate_groups)
    nq, nc = len(qg), len(cg)
    if nq == 0:
        raise ValueError("no queries: query_groups is empty (nothing to evaluate).")
    if nc == 0:
        raise ValueError("no candidates: candidate_groups is empty (nothing to rank).")
    if (query_langs is None) != (candidate_langs is None):
        raise ValueError("give both query_langs and candidate_langs, or neither (then all are one language 'und').")
    ql = ["und"] * nq if query_langs is None else _as_str_list(query_langs, "query_langs")
    cl = ["und"] * nc if candidate_langs is None else _as_str_list(candidate_langs, "candidate_langs")
    if len(ql) != nq:
        raise ValueError(f"query_langs has {len(ql)} entries but query_groups has {nq}; give one per query.")
    if len(cl) != nc:
        raise ValueError(f"candidate_langs has {len(cl)} entries but candidate_groups has {nc}; give one per candidate.")
    k_values = tuple(int(k) for k in k_values)
    for name, k in [("k_values", min(k_values, default=1)), ("mrr_k", mrr_k), ("ndcg_k", ndcg_k), ("top_k", top_k)]:
        if int(k) < 1:
            raise ValueError(f"{name} must be >= 1, got {k}.")
    if languages is None:
        langs = sorted(set(ql) | set(cl))
    else:
        langs = [str(x) for x in languages]
        if len(set(langs)) != len(langs):
            raise ValueError(f"languages has duplicates: {langs}")
        unknown = sorted((set(ql) | set(cl)) - set(langs))
        if unknown:
            raise ValueError(f"languages {unknown} occur in the data but not in languages={langs}; "
                             "filter the pool first or list them.")
    lang_index = {x: i for i, x in enumerate(langs)}
    n_lang = len(langs)
    q_lang = np.array([lang_index[x] for x in ql], dtype=np.int64)
    c_lang = np.array([lang_index[x] for x in cl], dtype=np.int64)

    use_emb = query_embeddings is not None or candidate_embeddings is not None
    if use_emb and scores is not None:
        raise ValueError("give either scores or query_embeddings/candidate_embeddings, not both.")
    if not use_emb and scores is None:
        raise ValueError("give scores (num_queries x num_candidates) or query_embeddings and candidate_embeddings.")
    budget = max(1024, int(max_chunk_elements))

    # Candidates are processed grouped by language (a stable permutation keeps the original order inside
    # each language, which is what the tie policy needs); per-language counts then come from column
    # blocks, and the pool count is their sum, so cells cost nothing extra.
    perm = np.argsort(c_lang, kind="stable")
    pos_of = np.empty(nc, dtype=np.int64)
    pos_of[perm] = np.arange(nc)
    counts_per_lang = np.bincount(c_lang, minlength=n_lang)
    ends = np.cumsum(counts_per_lang)
    starts = ends - counts_per_lang
    identity = bool(np.all(perm == np.arange(nc)))

    if use_emb:
        if query_embeddings is None or candidate_embeddings is None:
            raise ValueError("give both query_embeddings and candidate_embeddings.")
        qe = np.asarray(query_embeddings, dtype=np.float32)
        ce = np.asarray(candidate_embeddings, dtype=np.float32)
        if qe.ndim != 2 or ce.ndim != 2:
            raise ValueError(f"embeddings must be 2-D, got shapes {qe.shape} and {ce.shape}.")
        if qe.shape[0] != nq or ce.shape[0] != nc:
            raise ValueError(f"query_embeddings has {qe.shape[0]} rows for {nq} queries and candidate_embeddings "
                             f"{ce.shape[0]} rows for {nc} candidates; give one row per item.")
        if qe.shape[1] != ce.shape[1]:
            raise ValueError(f"embedding sizes differ: queries {qe.shape[1]}, candidates {ce.shape[1]}.")
        _check_finite(qe, 0, "query_embeddings")
        _check_finite(ce, 0, "candidate_embeddings")
        if normalize:
            qn = np.linalg.norm(qe, axis=1, keepdims=True)
            cn = np.linalg.norm(ce, axis=1, keepdims=True)
            if (qn == 0).any() or (cn == 0).any():
                raise ValueError("normalize=True but some embeddings are all zeros (no direction).")
            qe, ce = qe / qn, ce / cn
        unit = (np.allclose(np.linalg.norm(qe, axis=1), 1.0, atol=1e-3)
                and np.allclose(np.linalg.norm(ce, axis=1), 1.0, atol=1e-3))
        score_function = "cosine" if unit else "dot"
        ce_perm = np.ascontiguousarray(ce[perm])
    else:
        if hasattr(scores, "detach"):  # torch tensor without importing torch
            scores = scores.detach().cpu().numpy()
        if not hasattr(scores, "shape"):
            lengths = sorted({len(row) for row in scores}) if len(scores) and hasattr(scores[0], "__len__") else []
            if len(lengths) > 1:
                raise ValueError(f"scores rows have different lengths {lengths[:5]}; every row needs one score "
                                 "per candidate.")
            scores = np.asarray(scores)
        shape = tuple(scores.shape)
        if len(shape) != 2:
            raise ValueError(f"scores must be 2-D (queries x candidates), got shape {shape}.")
        if shape != (nq, nc):
            raise ValueError(f"scores has shape {shape} but there are {nq} queries and {nc} candidates; "
                             "row i must hold query i's score for every candidate, in candidate order.")
        score_function = "precomputed"

    # ---------------------------------------------------------------- relevance (CSR, sorted by candidate)
    group_to_cands: dict[str, list[int]] = {}
    for c, groups in enumerate(cg):
        for g in set(groups):
            group_to_cands.setdefault(g, []).append(c)
    rel_lists = [group_to_cands.get(g, []) for g in qg]
    n_rel_all = np.array([len(x) for x in rel_lists], dtype=np.int64)
    if not n_rel_all.any():
        raise ValueError("no query has a relevant candidate: no query group occurs in candidate_groups. "
                         "Check that both sides use the same group ids.")

    # ---------------------------------------------------------------- accumulators
    rank_keys = ["ap", *[f"recall@{k}" for k in k_values], f"mrr@{mrr_k}", f"ndcg@{ndcg_k}"]
    pool_sum = {m: np.zeros(n_lang) for m in rank_keys + ["rd"]}
    pool_n = np.zeros(n_lang, dtype=np.int64)
    pool_skip = np.zeros(n_lang, dtype=np.int64)
    cell_sum = {m: np.zeros((n_lang, n_lang)) for m in rank_keys}
    cell_n = np.zeros((n_lang, n_lang), dtype=np.int64)
    cell_skip = np.zeros((n_lang, n_lang), dtype=np.int64)
    k_eff = min(top_k, nc)
    share_counts = np.zeros((n_lang, n_lang), dtype=np.int64)
    q_per_lang = np.bincount(q_lang, minlength=n_lang)

    chunk = max(1, min(nq, budget // nc))
    for a in range(0, nq, chunk):
        b = min(nq, a + chunk)
        if use_emb:
            sp = qe[a:b] @ ce_perm.T
        else:
            s = np.asarray(scores[a:b])
            if s.dtype.kind not in "f" or s.dtype.itemsize < 4:
                s = s.astype(np.float64)
            sp = s if identity else s[:, perm]
        _check_finite(sp, a, "scores")
        m = b - a
        rows = np.arange(m)

        # Padded relevant candidates of this chunk: original index, permuted position, language.
        width = int(n_rel_all[a:b].max())
        rel_orig = np.full((m, max(width, 1)), _PAD, dtype=np.int64)
        for i, lst in enumerate(rel_lists[a:b]):
            rel_orig[i, :len(lst)] = lst
        valid = rel_orig != _PAD
        safe = np.where(valid, rel_orig, 0)
        rel_pos = pos_of[safe]
        rel_lang = np.where(valid, c_lang[safe], _PAD)
        thr = np.where(valid, sp[rows[:, None], rel_pos], np.inf)

        pool_rank, cell_rank_all = relevant_ranks(sp, thr, valid, rel_orig, rel_lang, perm, starts, ends, budget)

        # Pool metrics.
        ql_chunk = q_lang[a:b]
        pm = rank_metrics(pool_rank, k_values, mrr_k, ndcg_k)
        ok = pm["n_rel"] > 0
        pool_n += np.bincount(ql_chunk[ok], minlength=n_lang)
        pool_skip += np.bincount(ql_chunk[~ok], minlength=n_lang)
        for key in rank_keys:
            pool_sum[key] += np.bincount(ql_chunk[ok], weights=pm[key][ok], minlength=n_lang)
        pool_sum["rd"] += np.bincount(ql_chunk[ok], weights=(pm["max_rank"] - pm["min_rank"])[ok], minlength=n_lang)

        # Language-pair cells: the rank inside candidate language y only.
        for y in range(n_lang):
            in_y = valid & (rel_lang == y)
            cm = rank_metrics(np.where(in_y, cell_rank_all, np.inf), k_values, mrr_k, ndcg_k)
            ok = cm["n_rel"] > 0
            cell_n[:, y] += np.bincount(ql_chunk[ok], minlength=n_lang)
            cell_skip[:, y] += np.bincount(ql_chunk[~ok], minlength=n_lang)
            for key in rank_keys:
                cell_sum[key][:, y] += np.bincount(ql_chunk[ok], weights=cm[key][ok], minlength=n_lang)

        # Top-k language share in the pool, with the same tie policy.
        counts = top_k_block_counts(sp, k_eff, perm, pos_of, starts, ends)
        np.add.at(share_counts, ql_chunk, counts)
        if progress is not None:
            progress(b, nq)

    return _assemble(langs, rank_keys, pool_sum, pool_n, pool_skip, cell_sum, cell_n, cell_skip,
                     share_counts, q_per_lang, k_eff, top_k, k_values, mrr_k, ndcg_k, score_function, nq, nc)


def _mean(total: float, n: int) -> float | None:
    return float(total / n) if n else None


def _mean_of(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(sum(vals) / len(vals)) if vals else None


def _assemble(langs, rank_keys, pool_sum, pool_n, pool_skip, cell_sum, cell_n, cell_skip, share_counts,
              q_per_lang, k_eff, top_k, k_values, mrr_k, ndcg_k, score_function, nq, nc) -> dict[str, Any]:
    name = {"ap": "map"}
    n_lang = len(langs)
    total_n = int(pool_n.sum())
    pool: dict[str, Any] = {name.get(k, k): _mean(pool_sum[k].sum(), total_n) for k in rank_keys}
    pool["max_rd"] = _mean(pool_sum["rd"].sum(), total_n)
    pool["num_evaluated"] = total_n
    pool["num_skipped"] = int(pool_skip.sum())
    by_lang = {}
    for x, lang in enumerate(langs):
        entry = {name.get(k, k): _mean(pool_sum[k][x], int(pool_n[x])) for k in rank_keys}
        entry["max_rd"] = _mean(pool_sum["rd"][x], int(pool_n[x]))
        entry["num_evaluated"] = int(pool_n[x])
        entry["num_skipped"] = int(pool_skip[x])
        by_lang[lang] = entry
    matrix: dict[str, Any] = {}
    mono: dict[str, Any] = {}
    cross: dict[str, Any] = {}
    for k in rank_keys:
        grid = [[_mean(cell_sum[k][x, y], int(cell_n[x, y])) for y in range(n_lang)] for x in range(n_lang)]
        matrix[name.get(k, k)] = grid
        mono[name.get(k, k)] = _mean_of(grid[i][i] for i in range(n_lang))
        cross[name.get(k, k)] = _mean_of(grid[x][y] for x in range(n_lang) for y in range(n_lang) if x != y)
    matrix["num_evaluated"] = cell_n.tolist()
    matrix["num_skipped"] = cell_skip.tolist()
    defined = cell_n > 0
    mono["num_cells"] = int(np.trace(defined))
    cross["num_cells"] = int(defined.sum() - np.trace(defined))
    shares = [[(float(share_counts[x, y] / (q_per_lang[x] * k_eff)) if q_per_lang[x] else None)
               for y in range(n_lang)] for x in range(n_lang)]
    return {
        "languages": list(langs),
        "score_function": score_function,
        "num_queries": nq,
        "num_candidates": nc,
        "pool": pool,
        "pool_by_query_language": by_lang,
        "matrix": matrix,
        "mono": mono,
        "cross": cross,
        "top_k_language_share": {"k": int(k_eff), "shares": shares},
        "settings": {
            "k_values": list(k_values), "mrr_k": int(mrr_k), "ndcg_k": int(ndcg_k), "top_k": int(top_k),
            "ranks": "1-based; ties broken by candidate order (earlier candidate ranks higher)",
            "skipped": "queries without a relevant candidate (in the pool, or in the cell's candidate language) "
                       "are left out of the means and counted in num_skipped",
            "core_version": CORE_VERSION,
        },
    }


_SHIPPED = ("metrics_core.py", "ranking.py", "topk.py")  # the files the metric Space holds, same names as here


def _write_copy(target: str) -> None:
    """Write this file, ``ranking.py`` and ``topk.py``, unchanged, into the folder ``target`` (the Space), atomically."""
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    if not os.path.isdir(target):
        raise NotADirectoryError(f"{target} is not a folder: give the metric Space folder, spaces/lareqa_metric")
    for name in _SHIPPED:
        with open(os.path.join(here, name), "rb") as f:
            data = f.read()
        dest = os.path.join(target, name)
        tmp = f"{dest}.tmp{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, dest)
        print(f"wrote {dest} ({len(data)} bytes) from {os.path.join(here, name)}")


if __name__ == "__main__":
    import os
    import sys

    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit("usage: python -m hf_hybrid.evaluation.metrics_core spaces/lareqa_metric  (the Space folder)")
    _write_copy(sys.argv[1])
