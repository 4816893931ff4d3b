"""Top-k metrics from a run (hf_hybrid.evaluation.topk): hand-computed cases, the dense path at k = pool size,
ranx, and the edge cases (no relevant document, relevant documents not retrieved, empty lists, unknown languages).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from retrieval_fixtures import random_pool

from hf_hybrid.data import RetrievalData, load_pool
from hf_hybrid.evaluation.metrics_core import compute_retrieval_metrics
from hf_hybrid.evaluation.topk import compute_topk_metrics

#: keys whose values the two paths share (score_function/settings say where the numbers came from; run is new)
SHARED = ("languages", "num_queries", "num_candidates", "pool", "pool_by_query_language", "matrix", "mono", "cross",
          "top_k_language_share")


class Run:
    """The contract's Run duck type (hf_hybrid.retrieval.run_file.Run is one)."""

    def __init__(self, query_ids, doc_ids, scores):
        self.query_ids, self.doc_ids, self.scores = query_ids, doc_ids, scores


def full_run(S: np.ndarray, qids, cids) -> Run:
    """Every candidate for every query, best first; equal scores in candidate order (the dense tie policy)."""
    order = np.argsort(-S, axis=1, kind="stable")
    c = np.array(cids, dtype=object)
    return Run(list(qids), [list(c[o]) for o in order], [S[i, o].tolist() for i, o in enumerate(order)])


def dense_and_topk(S, qg, cg, ql, cl, k=None, **kw):
    qids = [f"q{i}" for i in range(len(qg))]
    cids = [f"c{j}" for j in range(len(cg))]
    data = RetrievalData.from_pool(load_pool_like(qids, qg, ql, cids, cg, cl))
    dense = compute_retrieval_metrics(S, query_groups=qg, candidate_groups=cg, query_langs=ql, candidate_langs=cl, **kw)
    run = full_run(S, qids, cids)
    if k is not None:
        run = Run(run.query_ids, [d[:k] for d in run.doc_ids], [s[:k] for s in run.scores])
    top = compute_topk_metrics(run, data.qrels, doc_langs=data.doc_lang_map(), query_langs=data.query_lang_map(),
                               k=k or len(cids), **kw)
    return dense, top


def load_pool_like(qids, qg, ql, cids, cg, cl):
    from hf_hybrid.data import RetrievalPool

    return RetrievalPool(qids, list(qg), list(ql), [""] * len(qids), cids, list(cg), list(cl), [""] * len(cids))


# --------------------------------------------------------------------------- hand-computed

def tiny(**kw):
    run = {"q1": {"d1": 0.9, "d2": 0.8, "d3": 0.7, "d4": 0.6},     # en query: relevant d2 (rank 2), d4 (rank 4)
           "q2": {"d3": 0.5, "d1": 0.4}}                            # de query: nothing relevant judged
    qrels = {"q1": {"d2": 1, "d4": 1, "d9": 1, "d3": 0},             # d9 relevant but not retrieved; d3 judged 0
             "q2": {"d1": 0}}
    langs = {"d1": "en", "d2": "de", "d3": "en", "d4": "en", "d9": "de"}
    args = dict(doc_langs=langs, query_langs={"q1": "en", "q2": "de"}, k=4, k_values=(1, 4), mrr_k=4, ndcg_k=4,
                top_k=2)
    return compute_topk_metrics(run, qrels, **{**args, **kw})


def test_hand_computed_pool_metrics():
    out = tiny()
    pool = out["pool"]
    assert pool["map"] == pytest.approx((1 / 2 + 2 / 4) / 3)          # R = 3 (d9 counts), hits at ranks 2 and 4
    assert pool["recall@1"] == 0.0 and pool["recall@4"] == pytest.approx(2 / 3)
    assert pool["mrr@4"] == 0.5
    dcg, idcg = 1 / math.log2(3) + 1 / math.log2(5), 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert pool["ndcg@4"] == pytest.approx(dcg / idcg)
    assert pool["max_rd"] == 3.0                                       # ranks 2 and k + 1 = 5 (d9 not retrieved)
    assert (pool["num_evaluated"], pool["num_skipped"]) == (1, 1)      # q2 has no relevant document
    assert out["num_queries"] == 2 and out["num_candidates"] == 4 and out["score_function"] == "run"
    assert out["run"] == {"k": 4, "num_queries_in_run": 2, "num_missing_from_run": 0, "missing_queries": "zero",
                          "num_retrieved": 6}


def test_hand_computed_cells_and_shares():
    out = tiny()
    langs = out["languages"]
    assert langs == ["de", "en"]
    de, en = langs.index("de"), langs.index("en")
    # en query, de documents: list (d2), relevant d2 (rank 1) and d9 (missing) -> AP 1/2; en documents:
    # list (d1, d3, d4), relevant d4 at rank 3 -> AP 1/3.
    assert out["matrix"]["map"][en][de] == 0.5 and out["matrix"]["map"][en][en] == pytest.approx(1 / 3)
    assert out["matrix"]["map"][de] == [None, None] and out["matrix"]["num_skipped"][de] == [1, 1]
    assert out["mono"]["map"] == pytest.approx(1 / 3) and out["cross"]["map"] == 0.5
    # top-2: q1 -> d1 (en), d2 (de); q2 -> d3 (en), d1 (en)
    assert out["top_k_language_share"] == {"k": 2, "shares": [[0.0, 1.0], [0.5, 0.5]]}


def test_graded_relevance_is_the_ndcg_gain():
    run = {"q1": {"d1": 0.9, "d2": 0.8, "d3": 0.7, "d4": 0.6}}
    out = compute_topk_metrics(run, {"q1": {"d2": 1, "d4": 2, "d9": 1}}, k=4, mrr_k=4, ndcg_k=4)
    dcg, idcg = 1 / math.log2(3) + 2 / math.log2(5), 2 + 1 / math.log2(3) + 1 / math.log2(4)
    assert out["pool"]["ndcg@4"] == pytest.approx(dcg / idcg)
    assert out["pool"]["map"] == pytest.approx((1 / 2 + 2 / 4) / 3)  # any grade > 0 is one relevant document
    assert out["languages"] == ["und"] and sorted(out["pool"]) == sorted(
        ["map", "recall@1", "recall@4", "mrr@4", "ndcg@4", "max_rd", "num_evaluated", "num_skipped"])


def test_ties_keep_run_order_and_unsorted_lists_are_sorted():
    qrels = {"q": {"b": 1}}
    assert compute_topk_metrics({"q": {"a": 1.0, "b": 1.0}}, qrels, k=2, mrr_k=2, ndcg_k=2)["pool"]["mrr@2"] == 0.5
    assert compute_topk_metrics({"q": {"b": 1.0, "a": 1.0}}, qrels, k=2, mrr_k=2, ndcg_k=2)["pool"]["mrr@2"] == 1.0
    shuffled = Run(["q"], [["a", "c", "b"]], [[0.1, 0.3, 0.2]])      # best first: c, b, a
    out = compute_topk_metrics(shuffled, qrels, k=3, mrr_k=3, ndcg_k=3)
    assert out["pool"]["mrr@3"] == 0.5


def test_lists_longer_than_k_are_cut():
    run = {"q": {"a": 0.9, "b": 0.8, "c": 0.7}}
    out = compute_topk_metrics(run, {"q": {"c": 1}}, k=2, mrr_k=2, ndcg_k=2)
    assert out["pool"]["recall@2"] == 0.0 and out["pool"]["max_rd"] == 0.0 and out["run"]["num_retrieved"] == 2


# --------------------------------------------------------------------------- the dense path at k = pool size

@pytest.mark.parametrize("ties", [None, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_dense_metrics_at_pool_size_on_random_pools(seed, ties):
    S, qg, cg, ql, cl = random_pool(np.random.default_rng(seed), nq_groups=15, tie_levels=ties, coverage=0.7)
    dense, top = dense_and_topk(S, qg, cg, ql, cl, k_values=(1, 5, 10))
    for key in SHARED:
        assert top[key] == dense[key], key                               # exact: same float operations


def test_equals_dense_metrics_on_the_xquad_r_sample():
    """Bundled XQuAD-R sample (4 languages: ~1400 queries x ~1000 candidates), random embeddings, k = pool size.

    Exact (==) because the top-k path reproduces the dense float operations: per-query AP/nDCG sum the same
    (queries x max-relevant) array, and the means are the same bincounts in the same query order (the dense
    path runs this pool in one chunk; with several chunks of different widths its sums could differ in
    the last bit).
    """
    pool = load_pool("bundled", languages=["ar", "de", "en", "zh"])
    rng = np.random.default_rng(0)
    qe = rng.standard_normal((len(pool.query_ids), 16)).astype(np.float32)
    ce = rng.standard_normal((len(pool.cand_ids), 16)).astype(np.float32)
    S = (qe @ ce.T).astype(np.float64)
    kw = dict(k_values=(1, 5, 10, 100), top_k=10)
    dense = compute_retrieval_metrics(S, query_groups=pool.query_groups, candidate_groups=pool.cand_groups,
                                      query_langs=pool.query_langs, candidate_langs=pool.cand_langs, **kw)
    data = RetrievalData.from_pool(pool)
    top = compute_topk_metrics(full_run(S, pool.query_ids, pool.cand_ids), data.qrels, doc_langs=data.doc_lang_map(),
                               query_langs=data.query_lang_map(), k=len(pool.cand_ids), **kw)
    for key in SHARED:
        assert top[key] == dense[key], key
    assert dense["num_candidates"] > 1000 and top["pool"]["num_evaluated"] == len(pool.query_ids)


def test_truncated_run_gives_exact_cutoff_metrics_and_lower_bounds():
    S, qg, cg, ql, cl = random_pool(np.random.default_rng(5), nq_groups=20, coverage=0.8)
    dense, top = dense_and_topk(S, qg, cg, ql, cl, k=12, k_values=(1, 5, 10))
    for key in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"):
        assert top["pool"][key] == dense["pool"][key], key               # everything they need is in the top 12
    assert top["pool"]["map"] < dense["pool"]["map"] and top["pool"]["max_rd"] < dense["pool"]["max_rd"]
    assert top["top_k_language_share"] == dense["top_k_language_share"]


# --------------------------------------------------------------------------- ranx

@pytest.mark.slow  # numba compiles ranx's metrics on first use (~50 s cold, ~5 s cached)
def test_cross_check_with_ranx():
    ranx = pytest.importorskip("ranx")
    rng = np.random.default_rng(7)
    run, qrels = {}, {}
    for i in range(60):
        docs = rng.choice(500, size=30, replace=False)
        run[f"q{i}"] = {f"d{d}": float(s) for d, s in zip(docs, np.sort(rng.random(30))[::-1])}
        rel = {f"d{d}": int(rng.integers(1, 4)) for d in rng.choice(docs, size=int(rng.integers(1, 4)), replace=False)}
        rel.update({f"d{d}": 1 for d in rng.choice(np.arange(500, 600), size=int(rng.integers(0, 3)), replace=False)})
        rel[f"d{docs[-1]}"] = 0                                            # judged, not relevant
        qrels[f"q{i}"] = rel
    out = compute_topk_metrics(run, qrels, k=30, k_values=(1, 5, 10, 30))
    names = ["ndcg@10", "recall@1", "recall@5", "recall@10", "recall@30", "mrr@10", "map@30"]
    ref = ranx.evaluate(ranx.Qrels(qrels), ranx.Run(run), names)
    for name in names:
        ours = out["pool"]["map" if name == "map@30" else name]
        assert abs(ours - float(ref[name])) <= 1e-9, (name, ours, ref[name])


# --------------------------------------------------------------------------- edge cases

def test_missing_queries_policies():
    run = {"q1": {"a": 1.0}}
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 0}}
    zero = compute_topk_metrics(run, qrels, k=1, mrr_k=1, ndcg_k=1)
    assert zero["pool"]["map"] == 0.5 and zero["num_queries"] == 2          # q2 scores 0; q3 has nothing relevant
    assert zero["run"]["num_missing_from_run"] == 1
    skip = compute_topk_metrics(run, qrels, k=1, mrr_k=1, ndcg_k=1, missing_queries="skip")
    assert skip["pool"]["map"] == 1.0 and skip["run"]["num_missing_from_run"] == 1
    with pytest.raises(ValueError, match=r"1 qrels queries .* not in the run, e.g. \['q2'\]"):
        compute_topk_metrics(run, qrels, k=1, mrr_k=1, ndcg_k=1, missing_queries="error")
    with pytest.raises(ValueError, match="missing_queries must be one of"):
        compute_topk_metrics(run, qrels, k=1, mrr_k=1, ndcg_k=1, missing_queries="drop")


def test_empty_rows_score_zero_and_add_nothing_to_shares():
    run = Run(["q1", "q2"], [["a", "b"], []], [[0.9, 0.1], []])
    out = compute_topk_metrics(run, {"q1": {"a": 1}, "q2": {"a": 1}}, doc_langs={"a": "en", "b": "de"},
                               query_langs={"q1": "en", "q2": "en"}, k=2, mrr_k=2, ndcg_k=2)
    assert out["pool"]["map"] == 0.5 and out["pool"]["num_evaluated"] == 2
    assert out["top_k_language_share"]["shares"][1] == [0.5, 0.5]           # q1's two documents only


def test_no_relevant_document_anywhere_is_an_error():
    with pytest.raises(ValueError, match="no query has a relevant document"):
        compute_topk_metrics({"q1": {"a": 1.0}}, {"q1": {"a": 0}, "q9": {}}, k=1, mrr_k=1, ndcg_k=1)


@pytest.mark.parametrize("kwargs, message", [
    (dict(doc_langs={"a": "en"}, query_langs={"q1": "en"}),
     r"1 doc id\(s\) have no language in doc_langs, e.g. \['b'\]"),
    (dict(doc_langs={"a": "en", "b": "en"}, query_langs={}), r"1 query id\(s\) have no language"),
    (dict(doc_langs={"a": "en", "b": "en"}), "give both doc_langs and query_langs"),
    (dict(doc_langs={"a": "en", "b": "de"}, query_langs={"q1": "en"}, languages=["en"]),
     r"languages \['de'\] of the data are not listed"),
    (dict(k=1, k_values=(1, 5)), "k_values=5 needs a run of depth >= 5, but k=1"),
    (dict(k=2, mrr_k=10), "mrr_k=10 needs a run of depth >= 10"),
    (dict(k=0), "k must be >= 1"),
])
def test_bad_arguments(kwargs, message):
    base = {"mrr_k": 1, "ndcg_k": 1}
    with pytest.raises(ValueError, match=message):
        compute_topk_metrics({"q1": {"a": 0.5, "b": 0.4}}, {"q1": {"a": 1}}, **{**base, **kwargs})


@pytest.mark.parametrize("run, qrels, message", [
    (Run(["q"], [["a", "a"]], [[0.5, 0.4]]), {"q": {"a": 1}}, "run query 'q' lists doc 'a' twice"),
    (Run(["q", "q"], [["a"], ["b"]], [[0.5], [0.4]]), {"q": {"a": 1}}, "lists query 'q' twice"),
    (Run(["q"], [["a", "b"]], [[0.5]]), {"q": {"a": 1}}, "has 2 doc ids but 1 scores"),
    ({"q": {"a": float("nan")}}, {"q": {"a": 1}}, "score nan of doc 'a' is not finite"),
    ({"q": {"a": 0.5}}, {"q": {"a": "yes"}}, r"qrels\['q'\]\['a'\] = 'yes' is not a number"),
    ({"q": ["a"]}, {"q": {"a": 1}}, "the dict form is"),
    (["q"], {"q": {"a": 1}}, "run must be"),
])
def test_bad_runs_and_qrels(run, qrels, message):
    with pytest.raises((ValueError, TypeError), match=message):
        compute_topk_metrics(run, qrels, k=2, mrr_k=1, ndcg_k=1, k_values=(1,))


def test_dict_and_object_forms_agree_and_progress_is_reported():
    S, qg, cg, ql, cl = random_pool(np.random.default_rng(3), nq_groups=8)
    _, top = dense_and_topk(S, qg, cg, ql, cl, k=10, k_values=(1, 5, 10))
    qids = [f"q{i}" for i in range(len(qg))]
    cids = [f"c{j}" for j in range(len(cg))]
    run = full_run(S, qids, cids)
    as_dict = {q: dict(zip(d[:10], s[:10])) for q, d, s in zip(run.query_ids, run.doc_ids, run.scores)}
    data = RetrievalData.from_pool(load_pool_like(qids, qg, ql, cids, cg, cl))
    calls = []
    again = compute_topk_metrics(as_dict, data.qrels, doc_langs=data.doc_lang_map(), query_langs=data.query_lang_map(),
                                 k_values=(1, 5, 10), progress=lambda done, total: calls.append((done, total)))
    assert again == top and calls[-1] == (len(qids), len(qids))
