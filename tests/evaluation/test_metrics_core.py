"""Correctness of the retrieval metrics (hf_hybrid.evaluation.metrics_core, docs/design.md section 3).

References: sklearn's average_precision_score on untied random scores, a brute-force implementation
(full lexsort per query: ranks by score descending, ties by candidate index) on tied and untied data,
and small cases computed by hand in the comments.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from retrieval_fixtures import flatten, random_pool
from sklearn.metrics import average_precision_score

from hf_hybrid.evaluation.metrics_core import compute_retrieval_metrics

K_VALUES = (1, 3, 10)


# --------------------------------------------------------------------------- brute-force reference

def brute_ranks(s: np.ndarray) -> np.ndarray:
    """1-based ranks: score descending, ties by candidate index (earlier ranks higher)."""
    order = np.lexsort((np.arange(len(s)), -s))
    rank = np.empty(len(s), dtype=np.int64)
    rank[order] = np.arange(1, len(s) + 1)
    return rank


def brute_query(ranks_rel: np.ndarray, k_values=K_VALUES, ndcg_k=10, mrr_k=10) -> dict[str, float]:
    r = np.sort(ranks_rel)
    out = {"map": float(np.mean(np.arange(1, len(r) + 1) / r)), "max_rd": float(r[-1] - r[0]),
           f"mrr@{mrr_k}": 1.0 / r[0] if r[0] <= mrr_k else 0.0}
    for k in k_values:
        out[f"recall@{k}"] = float(np.mean(r <= k))
    dcg = sum(1.0 / math.log2(x + 1) for x in r if x <= ndcg_k)
    idcg = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(r), ndcg_k) + 1))
    out[f"ndcg@{ndcg_k}"] = dcg / idcg
    return out


def brute_force(S, qg, cg, ql, cl, langs, top_k=10):
    nq, nc = S.shape
    rel = np.array([[qg[q] in cg[c] for c in range(nc)] for q in range(nq)])
    cl_arr, ql_arr = np.array(cl), np.array(ql)
    pool = [brute_query(brute_ranks(S[q])[rel[q]]) for q in range(nq) if rel[q].any()]
    cells = {}
    for x in langs:
        for y in langs:
            idx = np.nonzero(cl_arr == y)[0]
            vals = [brute_query(brute_ranks(S[q, idx])[rel[q, idx]]) for q in np.nonzero(ql_arr == x)[0]
                    if rel[q, idx].any()]
            cells[x, y] = vals
    k = min(top_k, nc)
    share = np.zeros((len(langs), len(langs)))
    for q in range(nq):
        top = np.argsort(brute_ranks(S[q]))[:k]
        for c in top:
            share[langs.index(ql[q]), langs.index(cl[c])] += 1
    for i, x in enumerate(langs):
        n = np.sum(ql_arr == x)
        share[i] = share[i] / (n * k) if n else np.nan
    return pool, cells, share, int((~rel.any(axis=1)).sum())


def assert_matches_brute(res, S, qg, cg, ql, cl, top_k=10):
    langs = res["languages"]
    pool, cells, share, skipped = brute_force(S, qg, cg, ql, cl, langs, top_k)
    assert res["pool"]["num_skipped"] == skipped
    assert res["pool"]["num_evaluated"] == len(pool)
    for key in ["map", "max_rd", "mrr@10", "ndcg@10", *[f"recall@{k}" for k in K_VALUES]]:
        assert res["pool"][key] == pytest.approx(np.mean([p[key] for p in pool]), abs=1e-9), key
    for i, x in enumerate(langs):
        for j, y in enumerate(langs):
            vals = cells[x, y]
            assert res["matrix"]["num_evaluated"][i][j] == len(vals)
            for key in ["map", "mrr@10", "ndcg@10", "recall@1"]:
                got = res["matrix"][key][i][j]
                if not vals:
                    assert got is None
                else:
                    assert got == pytest.approx(np.mean([v[key] for v in vals]), abs=1e-9), (x, y, key)
    got_share = np.array([[np.nan if v is None else v for v in row] for row in res["top_k_language_share"]["shares"]])
    np.testing.assert_allclose(got_share, share, atol=1e-12)


# --------------------------------------------------------------------------- correctness

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_untied_random_matches_sklearn_and_brute_force(seed):
    rng = np.random.default_rng(seed)
    S, qg, cg, ql, cl = random_pool(rng, coverage=0.7)
    res = compute_retrieval_metrics(S, query_groups=qg, candidate_groups=cg, query_langs=ql, candidate_langs=cl,
                                    k_values=K_VALUES, max_chunk_elements=1024)  # many chunks on purpose
    assert_matches_brute(res, S, qg, cg, ql, cl)
    # Pool mAP against sklearn directly (no ties in continuous random scores).
    aps = [average_precision_score([qg[q] in g for g in cg], S[q]) for q in range(len(qg))
           if any(qg[q] in g for g in cg)]
    assert res["pool"]["map"] == pytest.approx(np.mean(aps), abs=1e-9)
    # Cell (x, y) against sklearn on the candidates of y.
    for i, x in enumerate(res["languages"]):
        for j, y in enumerate(res["languages"]):
            idx = [c for c in range(len(cg)) if cl[c] == y]
            aps = [average_precision_score([qg[q] in cg[c] for c in idx], S[q, idx])
                   for q in range(len(qg)) if ql[q] == x and any(qg[q] in cg[c] for c in idx)]
            if aps:
                assert res["matrix"]["map"][i][j] == pytest.approx(np.mean(aps), abs=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_heavily_tied_scores_follow_candidate_order(seed):
    rng = np.random.default_rng(seed)
    S, qg, cg, ql, cl = random_pool(rng, tie_levels=3, coverage=0.8)
    res = compute_retrieval_metrics(S, query_groups=qg, candidate_groups=cg, query_langs=ql, candidate_langs=cl,
                                    k_values=K_VALUES, top_k=4, max_chunk_elements=2048)
    assert_matches_brute(res, S, qg, cg, ql, cl, top_k=4)


def test_chunking_does_not_change_results():
    rng = np.random.default_rng(5)
    S, qg, cg, ql, cl = random_pool(rng, nq_groups=20, tie_levels=4)
    kw = dict(query_groups=qg, candidate_groups=cg, query_langs=ql, candidate_langs=cl)
    big = compute_retrieval_metrics(S, **kw)
    small = compute_retrieval_metrics(S, **kw, max_chunk_elements=1)  # floor of 1024 elements, 1-row chunks
    assert flatten(big) == pytest.approx(flatten(small), abs=1e-12)  # only the summation order differs


def test_hand_computed_two_languages():
    # queries: q0 = (g1, en), q1 = (g1, de), q2 = (g2, en)
    # candidates: c0 en {g1}, c1 en {g2}, c2 de {g1, g2} (answers both), c3 de {} (distractor)
    S = np.array([[0.9, 0.5, 0.4, 0.8],   # q0: c0 1, c3 2, c1 3, c2 4 -> relevant ranks {1, 4}
                  [0.1, 0.2, 0.7, 0.7],   # q1: c2/c3 tie, c2 is earlier -> c2 1, c3 2, c1 3, c0 4 -> {1, 4}
                  [0.3, 0.6, 0.6, 0.9]])  # q2: c3 1, c1 2, c2 3 (tie, later), c0 4 -> {2, 3}
    res = compute_retrieval_metrics(S, query_groups=["g1", "g1", "g2"], candidate_groups=[("g1",), ("g2",), ("g1", "g2"), ()],
                                    query_langs=["en", "de", "en"], candidate_langs=["en", "en", "de", "de"],
                                    k_values=(1, 2), top_k=2)
    ap = [(1 / 1 + 2 / 4) / 2, (1 / 1 + 2 / 4) / 2, (1 / 2 + 2 / 3) / 2]
    assert res["languages"] == ["de", "en"]
    assert res["pool"]["map"] == pytest.approx(sum(ap) / 3, abs=1e-12)
    assert res["pool"]["max_rd"] == pytest.approx((3 + 3 + 1) / 3, abs=1e-12)
    assert res["pool"]["recall@1"] == pytest.approx((0.5 + 0.5 + 0) / 3)
    assert res["pool"]["recall@2"] == pytest.approx((0.5 + 0.5 + 0.5) / 3)
    assert res["pool"]["mrr@10"] == pytest.approx((1 + 1 + 0.5) / 3)
    ndcg_q0 = (1 + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    ndcg_q2 = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert res["pool"]["ndcg@10"] == pytest.approx((2 * ndcg_q0 + ndcg_q2) / 3, abs=1e-12)
    # Cells (rows/cols de, en). en->en: q0 c0 rank 1, q2 c1 rank 1. en->de: q0 c2 < c3 -> 0.5;
    # q2 c2 0.6 < c3 0.9 -> 0.5. de->en: q1 c0 0.1 < c1 0.2 -> 0.5. de->de: q1 c2 wins the tie -> 1.
    assert res["matrix"]["map"] == [[1.0, 0.5], [0.5, 1.0]]
    assert res["mono"]["map"] == 1.0 and res["cross"]["map"] == 0.5
    assert res["mono"]["num_cells"] == 2 and res["cross"]["num_cells"] == 2
    # Top-2: q1 -> {c2, c3} both de; q0 -> {c0 en, c3 de}; q2 -> {c3 de, c1 en}.
    assert res["top_k_language_share"] == {"k": 2, "shares": [[1.0, 0.0], [0.5, 0.5]]}
    assert res["pool_by_query_language"]["en"]["map"] == pytest.approx((ap[0] + ap[2]) / 2)
    assert res["score_function"] == "precomputed"


def test_mlqa_like_partial_language_coverage():
    langs = ["ar", "de", "en", "es", "hi", "vi", "zh"]
    groups = {"g1": ["en", "de"], "g2": ["en", "es", "zh"]}   # g1 has 2 of the 7 languages
    qg = [g for g, ls in groups.items() for _ in ls]
    ql = [x for ls in groups.values() for x in ls]
    cg = [(g,) for g, ls in groups.items() for _ in ls] + [(), (), ()]
    cl = ql + ["hi", "vi", "ar"]                             # distractor sentences in the other languages
    rng = np.random.default_rng(0)
    S = rng.uniform(0, 0.5, (len(qg), len(cg)))
    for q in range(len(qg)):                                 # a perfect retriever
        for c in range(len(cg)):
            if qg[q] in cg[c]:
                S[q, c] = 1.0 - 0.01 * c
    res = compute_retrieval_metrics(S, query_groups=qg, candidate_groups=cg, query_langs=ql, candidate_langs=cl,
                                    languages=langs)
    assert res["pool"]["map"] == 1.0
    assert res["pool"]["max_rd"] == pytest.approx((1 + 1 + 2 + 2 + 2) / 5)  # relevant at ranks 1..R
    mat = res["matrix"]
    i = {x: n for n, x in enumerate(langs)}
    # en queries vs de candidates: g1's en query is evaluated, g2's en query is skipped (g2 has no de).
    assert mat["num_evaluated"][i["en"]][i["de"]] == 1 and mat["num_skipped"][i["en"]][i["de"]] == 1
    assert mat["map"][i["en"]][i["de"]] == 1.0
    # de queries vs es candidates: g1 has no es answer -> nothing evaluated -> undefined, not 0.
    assert mat["map"][i["de"]][i["es"]] is None and mat["num_skipped"][i["de"]][i["es"]] == 1
    # hi has distractors but no query: row undefined; hi column skips every query.
    assert all(v is None for v in mat["map"][i["hi"]])
    assert mat["num_skipped"][i["en"]][i["hi"]] == 2
    assert res["mono"]["num_cells"] == 4                                  # en, de, es, zh diagonals
    assert res["cross"]["num_cells"] == 3 + 1 + 2 + 2                     # en->de/es/zh, de->en, es->en/zh, zh->en/es
    assert res["mono"]["map"] == 1.0 and res["cross"]["map"] == 1.0
    assert res["top_k_language_share"]["shares"][i["hi"]] == [None] * 7   # no hi query


def test_skipped_queries_are_counted_not_dropped_silently():
    S = np.array([[0.9, 0.1], [0.5, 0.4], [0.2, 0.3]])
    res = compute_retrieval_metrics(S, query_groups=["a", "zzz", "b"], candidate_groups=[("a",), ("b",)])
    assert res["pool"]["num_skipped"] == 1 and res["pool"]["num_evaluated"] == 2
    assert res["pool"]["map"] == 1.0
    assert res["languages"] == ["und"]
    assert res["matrix"]["num_skipped"] == [[1]]


def test_embeddings_path_equals_scores_path_and_names_the_score():
    rng = np.random.default_rng(3)
    qe = rng.standard_normal((9, 8)).astype(np.float32)
    ce = rng.standard_normal((7, 8)).astype(np.float32)
    kw = dict(query_groups=[f"g{i % 4}" for i in range(9)], candidate_groups=[(f"g{i % 5}",) for i in range(7)],
              query_langs=["en", "de", "fr"] * 3, candidate_langs=["en", "de", "fr", "en", "de", "fr", "en"])
    dot = compute_retrieval_metrics(query_embeddings=qe, candidate_embeddings=ce, **kw)
    ref = compute_retrieval_metrics(qe @ ce.T, **kw)
    assert dot["score_function"] == "dot"
    dot.pop("score_function"), ref.pop("score_function")
    assert dot == ref
    qn, cn = qe / np.linalg.norm(qe, axis=1, keepdims=True), ce / np.linalg.norm(ce, axis=1, keepdims=True)
    cos = compute_retrieval_metrics(query_embeddings=qe, candidate_embeddings=ce, normalize=True, **kw)
    assert cos["score_function"] == "cosine"
    assert cos["pool"] == compute_retrieval_metrics(qn @ cn.T, **kw)["pool"]


# --------------------------------------------------------------------------- bad input

def _kw(nq=2, nc=2):
    return dict(query_groups=["a", "b"][:nq], candidate_groups=[("a",), ("b",)][:nc])


@pytest.mark.parametrize("call, message", [
    (lambda: compute_retrieval_metrics(np.zeros((0, 2)), query_groups=[], candidate_groups=[("a",), ("b",)]), "no queries"),
    (lambda: compute_retrieval_metrics(np.zeros((2, 0)), query_groups=["a", "b"], candidate_groups=[]), "no candidates"),
    (lambda: compute_retrieval_metrics(np.zeros((2, 3)), **_kw()), r"scores has shape \(2, 3\) but there are 2 queries and 2"),
    (lambda: compute_retrieval_metrics(np.zeros(2), **_kw()), "must be 2-D"),
    (lambda: compute_retrieval_metrics([[0.1, 0.2], [0.3]], **_kw()), "different lengths"),
    (lambda: compute_retrieval_metrics(np.array([[0.1, 0.2], [0.3, np.nan]]), **_kw()), r"non-finite value \(nan\) at row 1, candidate 1"),
    (lambda: compute_retrieval_metrics(np.array([[np.inf, 0.2], [0.3, 0.1]]), **_kw()), r"non-finite value \(inf\) at row 0, candidate 0"),
    (lambda: compute_retrieval_metrics(np.eye(2), **_kw(), query_langs=["en"], candidate_langs=["en", "en"]), "query_langs has 1 entries"),
    (lambda: compute_retrieval_metrics(np.eye(2), **_kw(), query_langs=["en", "en"], candidate_langs=["en"]), "candidate_langs has 1 entries"),
    (lambda: compute_retrieval_metrics(np.eye(2), **_kw(), query_langs=["en", "en"]), "give both query_langs and candidate_langs"),
    (lambda: compute_retrieval_metrics(np.eye(2), query_groups=["x", "y"], candidate_groups=[("a",), ()]), "no query has a relevant candidate"),
    (lambda: compute_retrieval_metrics(np.eye(2), **_kw(), query_langs=["en", "de"], candidate_langs=["en", "de"], languages=["en"]), r"\['de'\] occur in the data"),
    (lambda: compute_retrieval_metrics(**_kw()), "give scores"),
    (lambda: compute_retrieval_metrics(np.eye(2), query_embeddings=np.eye(2), candidate_embeddings=np.eye(2), **_kw()), "not both"),
    (lambda: compute_retrieval_metrics(query_embeddings=np.eye(2), candidate_embeddings=np.ones((2, 3)), **_kw()), "embedding sizes differ"),
    (lambda: compute_retrieval_metrics(query_embeddings=np.eye(3), candidate_embeddings=np.eye(2), **_kw()), "has 3 rows for 2 queries"),
    (lambda: compute_retrieval_metrics(query_embeddings=np.array([[np.nan, 1.0], [0, 1]]), candidate_embeddings=np.eye(2), **_kw()), "query_embeddings contain a non-finite"),
    (lambda: compute_retrieval_metrics(np.eye(2), query_groups=[None, "b"], candidate_groups=[("a",), ("b",)]), r"query_groups\[0\] is None"),
    (lambda: compute_retrieval_metrics(np.eye(2), **_kw(), top_k=0), "top_k must be >= 1"),
])
def test_bad_input_raises_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
