"""hf_hybrid.evaluation.ranking: ranks under the tie policy, per-query AP / recall / MRR / nDCG, top-k counts.

The functions are called directly, with inputs laid out as ``metrics_core`` lays them out (candidates grouped
by language through a stable permutation), and checked against brute force and scikit-learn.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, ndcg_score

from hf_hybrid.evaluation.ranking import (
    rank_metrics,
    relevant_ranks,
    top_k_block_counts,
)

PAD = -1


def _layout(cand_lang):
    """``perm``, ``pos_of``, ``starts``, ``ends`` of candidates grouped by language (as metrics_core does)."""
    cand_lang = np.asarray(cand_lang)
    n_lang = int(cand_lang.max()) + 1
    perm = np.argsort(cand_lang, kind="stable")
    pos_of = np.empty(len(cand_lang), dtype=np.int64)
    pos_of[perm] = np.arange(len(cand_lang))
    counts = np.bincount(cand_lang, minlength=n_lang)
    ends = np.cumsum(counts)
    return perm, pos_of, ends - counts, ends


def _ranks(scores, cand_lang, relevant, budget=1 << 20):
    """``relevant_ranks`` of ``relevant[q]`` (lists of original candidate indices) for every query."""
    scores = np.asarray(scores, dtype=np.float64)
    cand_lang = np.asarray(cand_lang)
    perm, pos_of, starts, ends = _layout(cand_lang)
    sp = scores[:, perm]
    m = len(scores)
    width = max(1, max(len(r) for r in relevant))
    rel_orig = np.full((m, width), PAD, dtype=np.int64)
    for i, lst in enumerate(relevant):
        rel_orig[i, :len(lst)] = lst
    valid = rel_orig != PAD
    safe = np.where(valid, rel_orig, 0)
    rel_lang = np.where(valid, cand_lang[safe], PAD)
    thr = np.where(valid, sp[np.arange(m)[:, None], pos_of[safe]], np.inf)
    return relevant_ranks(sp, thr, valid, rel_orig, rel_lang, perm, starts, ends, budget)


def _brute_rank(s, c, among=None):
    """1 + #{j: s_j > s_c} + #{j < c: s_j == s_c}, over the candidates ``among`` (default: all)."""
    js = range(len(s)) if among is None else among
    return 1 + sum(1 for j in js if s[j] > s[c]) + sum(1 for j in js if j < c and s[j] == s[c])


# ---------------------------------------------------------------- ranks


def test_ties_are_broken_by_candidate_order():
    scores = [[0.5, 0.9, 0.5, 0.5, 0.1]]
    pool, cell = _ranks(scores, [0, 0, 0, 0, 0], [[2, 0, 3]])
    # candidate 1 (0.9) first; then the three 0.5s in candidate order: 0, 2, 3
    np.testing.assert_array_equal(pool, [[3, 2, 4]])
    np.testing.assert_array_equal(cell, pool)


def test_all_tied_ranks_follow_candidate_order():
    pool, _ = _ranks(np.zeros((1, 6)), [0, 1, 0, 1, 0, 1], [[5, 0, 3]])
    np.testing.assert_array_equal(pool, [[6, 1, 4]])


def test_cell_ranks_count_only_the_relevant_candidates_language():
    # languages: 0 1 0 1 ; scores: 0.1 0.8 0.7 0.9
    scores = [[0.1, 0.8, 0.7, 0.9]]
    pool, cell = _ranks(scores, [0, 1, 0, 1], [[0, 1, 2]])
    np.testing.assert_array_equal(pool, [[4, 2, 3]])
    np.testing.assert_array_equal(cell, [[2, 2, 1]])


def test_padding_gives_infinite_pool_ranks():
    pool, _ = _ranks([[0.2, 0.1, 0.3], [0.3, 0.2, 0.1]], [0, 0, 0], [[1], [0, 2]])
    np.testing.assert_array_equal(pool, [[3, np.inf], [1, 3]])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("budget", [5, 64, 1 << 20])
def test_ranks_equal_brute_force_with_heavy_ties(seed, budget):
    rng = np.random.default_rng(seed)
    nq, nc, n_lang = 7, 23, 3
    scores = rng.integers(0, 4, size=(nq, nc)).astype(np.float64)  # few distinct values: many ties
    cand_lang = rng.integers(0, n_lang, size=nc)
    cand_lang[:n_lang] = np.arange(n_lang)  # every language present
    relevant = [sorted(rng.choice(nc, size=rng.integers(1, 6), replace=False).tolist()) for _ in range(nq)]
    pool, cell = _ranks(scores, cand_lang, relevant, budget=budget)
    for q, rel in enumerate(relevant):
        s = scores[q]
        for i, c in enumerate(rel):
            assert pool[q, i] == _brute_rank(s, c)
            same = [j for j in range(nc) if cand_lang[j] == cand_lang[c]]
            assert cell[q, i] == _brute_rank(s, c, same)
        assert len(set(pool[q, :len(rel)])) == len(rel)  # distinct under the tie policy
        assert (pool[q, len(rel):] == np.inf).all()


# ---------------------------------------------------------------- per-query metrics


def test_rank_metrics_by_hand():
    ranks = np.array([[3.0, 1.0, np.inf], [2.0, 5.0, 12.0], [np.inf, np.inf, np.inf]])
    out = rank_metrics(ranks, k_values=(1, 5), mrr_k=10, ndcg_k=10)
    np.testing.assert_array_equal(out["n_rel"], [2, 3, 0])
    # AP = mean_i(i / r_i) over the sorted ranks
    np.testing.assert_allclose(out["ap"][:2], [(1 / 1 + 2 / 3) / 2, (1 / 2 + 2 / 5 + 3 / 12) / 3])
    np.testing.assert_array_equal(out["min_rank"][:2], [1, 2])
    np.testing.assert_array_equal(out["max_rank"][:2], [3, 12])
    np.testing.assert_allclose(out["recall@1"][:2], [1 / 2, 0])
    np.testing.assert_allclose(out["recall@5"][:2], [1, 2 / 3])
    np.testing.assert_allclose(out["mrr@10"][:2], [1, 1 / 2])
    dcg = [1 + 1 / np.log2(4), 1 / np.log2(3) + 1 / np.log2(6)]  # rank 12 is beyond ndcg@10
    ideal = [1 + 1 / np.log2(3), 1 + 1 / np.log2(3) + 1 / np.log2(4)]
    np.testing.assert_allclose(out["ndcg@10"][:2], np.divide(dcg, ideal))
    # a query without relevant candidates: NaN everywhere but n_rel (the caller skips and counts it)
    for key in ("ap", "min_rank", "max_rank", "recall@1", "recall@5", "mrr@10", "ndcg@10"):
        assert np.isnan(out[key][2]), key


def test_mrr_is_zero_beyond_its_cutoff_and_keys_follow_the_arguments():
    out = rank_metrics(np.array([[11.0], [3.0]]), k_values=(2,), mrr_k=10, ndcg_k=3)
    assert sorted(out) == ["ap", "max_rank", "min_rank", "mrr@10", "n_rel", "ndcg@3", "recall@2"]
    np.testing.assert_allclose(out["mrr@10"], [0.0, 1 / 3])
    np.testing.assert_allclose(out["ndcg@3"], [0.0, 1 / np.log2(4)])
    np.testing.assert_allclose(out["recall@2"], [0.0, 0.0])


def test_rank_metrics_do_not_need_sorted_ranks():
    a = rank_metrics(np.array([[7.0, np.inf, 2.0, 4.0]]))
    b = rank_metrics(np.array([[2.0, 4.0, 7.0, np.inf]]))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_default_keys():
    out = rank_metrics(np.array([[1.0]]))
    assert sorted(out) == sorted(["n_rel", "ap", "min_rank", "max_rank", "recall@1", "recall@5", "recall@10",
                                  "recall@100", "mrr@10", "ndcg@10"])
    assert all(float(out[k][0]) == 1.0 for k in out)


def test_rank_metrics_rejects_non_2d_ranks():
    with pytest.raises(ValueError, match=re.escape("ranks must be 2-D (queries x relevant), got shape (3,)")):
        rank_metrics(np.array([1.0, 2.0, 3.0]))


@pytest.mark.parametrize("seed", range(5))
def test_ap_and_ndcg_agree_with_sklearn_without_ties(seed):
    rng = np.random.default_rng(seed)
    nq, nc = 12, 40
    scores = rng.normal(size=(nq, nc))  # continuous: no ties
    labels = rng.random((nq, nc)) < 0.15
    labels[:, 0] |= ~labels.any(axis=1)  # every query has a relevant candidate
    relevant = [np.flatnonzero(row).tolist() for row in labels]
    pool, _ = _ranks(scores, np.zeros(nc, dtype=int), relevant)
    out = rank_metrics(pool, ndcg_k=10)
    for q in range(nq):
        assert out["ap"][q] == pytest.approx(average_precision_score(labels[q], scores[q]), abs=1e-12)
        assert out["ndcg@10"][q] == pytest.approx(ndcg_score(labels[q][None].astype(float), scores[q][None], k=10),
                                                  abs=1e-12)
        assert out["min_rank"][q] == 1 + np.sum(scores[q] > scores[q][labels[q]].max())


# ---------------------------------------------------------------- top-k language counts


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("k", [1, 3, 8])
def test_top_k_counts_follow_the_same_tie_policy(seed, k):
    rng = np.random.default_rng(seed)
    nq, nc, n_lang = 6, 15, 3
    scores = rng.integers(0, 3, size=(nq, nc)).astype(np.float64)
    cand_lang = rng.integers(0, n_lang, size=nc)
    cand_lang[:n_lang] = np.arange(n_lang)
    perm, pos_of, starts, ends = _layout(cand_lang)
    counts = top_k_block_counts(scores[:, perm], k, perm, pos_of, starts, ends)
    assert counts.shape == (nq, n_lang) and (counts.sum(axis=1) == k).all()
    for q in range(nq):
        # the top k by score, ties by candidate order
        order = sorted(range(nc), key=lambda j: (-scores[q, j], j))[:k]
        np.testing.assert_array_equal(counts[q], np.bincount(cand_lang[order], minlength=n_lang))
