"""Ranks under the fixed tie policy, and per-query metrics from ranks, in pure NumPy (``docs/design.md`` section 3).

The counting half of the LAReQA metrics: :mod:`metrics_core` validates the inputs, feeds score chunks
through these functions and aggregates.  Like ``metrics_core.py``, this file depends on NumPy only, has no
package-relative imports, and is shipped byte for byte in ``spaces/lareqa_metric/`` (same file name).

Conventions:

* ranks are 1-based; ties are broken by candidate order (the earlier candidate ranks higher), so the
  rank of a relevant candidate ``c`` of query ``q`` is ``1 + #{j: s_j > s_c} + #{j < c: s_j == s_c}``;
* AP of a query with sorted relevant ranks ``r_1 < r_2 < ... < r_R`` is ``mean_i(i / r_i)`` (equal to
  sklearn's average precision whenever scores have no ties); no full sort of the pool is needed;
* candidates arrive grouped by language: columns ``[starts[y], ends[y])`` of a score chunk are the
  candidates of language ``y``, in their original order; ``perm[j]`` is the original index of column
  ``j`` and ``pos_of`` its inverse.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["rank_metrics", "relevant_ranks", "top_k_block_counts"]


def rank_metrics(
    ranks: np.ndarray,
    k_values: Sequence[int] = (1, 5, 10, 100),
    mrr_k: int = 10,
    ndcg_k: int = 10,
) -> dict[str, np.ndarray]:
    """Per-query metrics from the 1-based ranks of each query's relevant candidates.

    ``ranks`` is ``(Q, R)`` float with ``inf`` as padding; ranks of one query must be distinct (they are
    under the tie policy).  Rows with no finite rank get NaN AP; the caller skips and counts them.
    Returns arrays of shape ``(Q,)``: ``n_rel``, ``ap``, ``min_rank``, ``max_rank``, ``recall@k``,
    ``mrr@{mrr_k}``, ``ndcg@{ndcg_k}``.
    """
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.ndim != 2:
        raise ValueError(f"ranks must be 2-D (queries x relevant), got shape {ranks.shape}")
    q, width = ranks.shape
    r = np.sort(ranks, axis=1)
    finite = np.isfinite(r)
    n_rel = finite.sum(axis=1)
    has = n_rel > 0
    pos = np.arange(1, width + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.where(finite, pos / np.where(finite, r, 1.0), 0.0)
        ap = np.where(has, prec.sum(axis=1) / np.maximum(n_rel, 1), np.nan)
    min_rank = np.where(has, r[:, 0] if width else np.nan, np.nan)
    last = np.clip(n_rel - 1, 0, None)
    max_rank = np.where(has, r[np.arange(q), last] if width else np.nan, np.nan)
    out: dict[str, np.ndarray] = {"n_rel": n_rel, "ap": ap, "min_rank": min_rank, "max_rank": max_rank}
    for k in k_values:
        out[f"recall@{k}"] = np.where(has, (finite & (r <= k)).sum(axis=1) / np.maximum(n_rel, 1), np.nan)
    out[f"mrr@{mrr_k}"] = np.where(has & (min_rank <= mrr_k), 1.0 / np.where(has, min_rank, 1.0), 0.0)
    out[f"mrr@{mrr_k}"] = np.where(has, out[f"mrr@{mrr_k}"], np.nan)
    disc = 1.0 / np.log2(np.arange(2, ndcg_k + 2, dtype=np.float64))
    ideal = np.concatenate([[0.0], np.cumsum(disc)])[np.minimum(n_rel, ndcg_k)]
    with np.errstate(divide="ignore", invalid="ignore"):
        gains = np.where(finite & (r <= ndcg_k), 1.0 / np.log2(np.where(finite, r, 1.0) + 1.0), 0.0)
        out[f"ndcg@{ndcg_k}"] = np.where(has, gains.sum(axis=1) / np.where(has, ideal, 1.0), np.nan)
    return out


def _count_gt_eq(block: np.ndarray, thr: np.ndarray, budget: int) -> tuple[np.ndarray, np.ndarray]:
    """``(#(block > thr), #(block == thr))`` per (row, threshold), in pieces of <= ``budget`` elements.

    The broadcast comparison + uint8 reduction is the fastest exact count NumPy offers here (faster than
    sorting each row, and a full argsort is what a naive implementation would do per query).
    """
    nq, n = block.shape
    width = thr.shape[1]
    gt = np.zeros((nq, width), dtype=np.int64)
    eq = np.zeros((nq, width), dtype=np.int64)
    if n == 0 or width == 0 or nq == 0:
        return gt, eq
    rc = max(1, min(width, budget // max(1, nq * n)))
    cc = n if rc < width or nq * width * n <= budget else max(1, budget // (nq * width))
    cc = min(cc, max(1, budget // (nq * rc)))
    for r0 in range(0, width, rc):
        t = thr[:, r0:r0 + rc, None]
        for c0 in range(0, n, cc):
            b = block[:, None, c0:c0 + cc]
            gt[:, r0:r0 + rc] += np.add.reduce((b > t).view(np.uint8), axis=-1, dtype=np.int32)
            eq[:, r0:r0 + rc] += np.add.reduce((b == t).view(np.uint8), axis=-1, dtype=np.int32)
    return gt, eq


def _block_sums(mask: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Row sums of boolean ``mask`` over column blocks ``[starts[y], ends[y])`` (empty blocks give 0)."""
    out = np.zeros((mask.shape[0], len(starts)), dtype=np.int64)
    as_bytes = mask.view(np.uint8)
    for y, (s, e) in enumerate(zip(starts, ends)):
        if e > s:
            out[:, y] = np.add.reduce(as_bytes[:, s:e], axis=1, dtype=np.int32)
    return out


def relevant_ranks(
    sp: np.ndarray,
    thr: np.ndarray,
    valid: np.ndarray,
    rel_orig: np.ndarray,
    rel_lang: np.ndarray,
    perm: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    budget: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Pool and per-language ranks of each query's relevant candidates in one score chunk.

    ``sp``: ``(m, n)`` scores, columns grouped by language; ``thr``/``valid``/``rel_orig``/``rel_lang``:
    ``(m, R)`` score, presence, original index and language of each (padded) relevant candidate.
    Returns ``(pool_rank, cell_rank)``, both ``(m, R)``: the rank among all candidates (``inf`` for
    padding) and the rank among the candidates of the relevant candidate's own language.
    """
    n_lang = len(starts)
    nc = sp.shape[1]
    # Counts of strictly higher scores per candidate-language block, plus exact ties.
    gt = np.zeros(rel_orig.shape + (n_lang,), dtype=np.int64)
    eq = np.zeros_like(gt)
    for y in range(n_lang):
        if ends[y] > starts[y]:
            gt[:, :, y], eq[:, :, y] = _count_gt_eq(sp[:, starts[y]:ends[y]], thr, budget)
    # eq counts the candidate itself; only rows with another equal score need the tie correction.
    before = np.zeros_like(gt)
    tied = valid & (eq.sum(axis=2) > 1)
    if tied.any():
        tq, tr = np.nonzero(tied)
        step = max(1, budget // nc)
        for t0 in range(0, len(tq), step):
            qq, rr = tq[t0:t0 + step], tr[t0:t0 + step]
            mask = (sp[qq] == thr[qq, rr][:, None]) & (perm[None, :] < rel_orig[qq, rr][:, None])
            before[qq, rr] = _block_sums(mask, starts, ends)
    higher = gt + before
    pool_rank = np.where(valid, 1 + higher.sum(axis=2), np.inf)
    own = np.where(valid, rel_lang, 0)
    cell_rank = 1 + np.take_along_axis(higher, own[:, :, None], axis=2)[:, :, 0]
    return pool_rank, cell_rank


def top_k_block_counts(
    sp: np.ndarray, k_eff: int, perm: np.ndarray, pos_of: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """``(m, n_lang)``: how many of each row's top-``k_eff`` candidates are in each language block.

    Same tie policy as the ranks: among candidates tied at the k-th score, the earlier ones (in original
    candidate order) are in the top-k.
    """
    nc = sp.shape[1]
    kth = np.partition(sp, nc - k_eff, axis=1)[:, nc - k_eff].copy()  # copy: frees the partitioned chunk
    ge = sp >= kth[:, None]
    counts = _block_sums(ge, starts, ends)
    over = counts.sum(axis=1) > k_eff
    if over.any():
        oq = np.nonzero(over)[0]
        sub, v = sp[oq], kth[oq][:, None]
        need = k_eff - (sub > v).sum(axis=1)
        eq_orig = (sub == v)[:, pos_of]  # back to original candidate order
        keep_orig = eq_orig & (np.cumsum(eq_orig, axis=1) <= need[:, None])
        counts[oq] = _block_sums(sub > v, starts, ends) + _block_sums(keep_orig[:, perm], starts, ends)
    return counts
