"""Exact search (streamed over store chunks) equals brute force exactly; index search; recall@k."""

from __future__ import annotations

import numpy as np
import pytest
from search_fixtures import write_store

from hf_hybrid.retrieval.index import IndexConfig, build_index
from hf_hybrid.retrieval.run_file import Run
from hf_hybrid.retrieval.search import exact_search, index_search, load_queries, recall_at_k, search
from hf_hybrid.retrieval.shards import EmbeddingStore


def _grid(n: int, dim: int, seed: int) -> np.ndarray:
    """Values in {-0.5, -0.25, 0, 0.25, 0.5}: every dot product is exact in float32 (any summation order gives
    the same score) and many scores tie, so the tie policy is tested, not luck."""
    return np.random.default_rng(seed).integers(-2, 3, (n, dim)).astype(np.float32) / 4


def _brute_force(q: np.ndarray, e: np.ndarray, k: int) -> tuple[list[list[int]], list[list[float]]]:
    """Full score matrix (float64, rounded to float32), stable argsort of -score (= score desc, then doc order
    asc), cut to k."""
    s = (q.astype(np.float64) @ e.astype(np.float64).T).astype(np.float32)
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return order.tolist(), np.take_along_axis(s, order, 1).tolist()


@pytest.fixture
def corpus(tmp_path):
    emb = _grid(53, 6, 0)
    ids = [f"doc{i}" for i in range(53)]
    return emb, ids, EmbeddingStore(write_store(tmp_path / "corpus", emb, ids, chunk_size=8))


@pytest.mark.parametrize("k", [1, 3, 10, 53, 60])
@pytest.mark.parametrize("batch_size", [1, 7, 100])
def test_exact_equals_brute_force_with_ties(corpus, k, batch_size):
    emb, ids, store = corpus
    q = _grid(20, 6, 1)
    qids = [f"q{i}" for i in range(20)]
    run = exact_search(store, q, k, query_ids=qids, batch_size=batch_size, show_progress=False)
    order, scores = _brute_force(q, emb, k)
    assert run.query_ids == qids
    assert run.doc_ids == [[ids[j] for j in row] for row in order]
    assert run.scores == scores
    assert all(len(d) == min(k, 53) for d in run.doc_ids)
    s = q @ emb.T
    assert max(np.unique(row, return_counts=True)[1].max() for row in s) > 5  # the data really has ties


def test_tie_across_the_cut_takes_the_earliest_docs():
    e = np.array([[1.0], [2.0], [1.0], [1.0], [0.5], [1.0]], dtype=np.float32)
    run = exact_search(e, np.ones((1, 1), np.float32), 3, query_ids=["q"], doc_ids=list("abcdef"),
                       block_rows=6, show_progress=False)
    assert run.doc_ids == [["b", "a", "c"]] and run.scores == [[2.0, 1.0, 1.0]]


def test_chunked_equals_unchunked_on_random_floats(tmp_path):
    """384-d Gaussian floats: a float32 GEMM alone gives other last bits with other block shapes (OpenBLAS:
    ~90% of the scores of this data), so this checks the float64 rescoring of the candidates."""
    rng = np.random.default_rng(3)
    emb, q = rng.standard_normal((300, 384)).astype(np.float32), rng.standard_normal((25, 384)).astype(np.float32)
    ids, qids = [f"d{i}" for i in range(300)], [f"q{i}" for i in range(25)]
    whole = exact_search(emb, q, 10, query_ids=qids, doc_ids=ids, block_rows=10_000, show_progress=False)
    for chunk_size in (1, 16, 77):
        store = EmbeddingStore(write_store(tmp_path / f"c{chunk_size}", emb, ids, chunk_size=chunk_size))
        assert exact_search(store, q, 10, query_ids=qids, batch_size=4, show_progress=False) == whole
    order, scores = _brute_force(q, emb, 10)
    assert whole.doc_ids == [[ids[j] for j in row] for row in order] and whole.scores == scores


def test_float16_store_and_query_store(tmp_path):
    emb, q = _grid(40, 8, 5), _grid(6, 8, 6)
    ids, qids = [f"d{i}" for i in range(40)], [f"q{i}" for i in range(6)]
    store = EmbeddingStore(write_store(tmp_path / "c", emb, ids, chunk_size=16, dtype="float16"))
    queries = EmbeddingStore(write_store(tmp_path / "q", q, qids, chunk_size=4, role="query"))
    assert store.dtype == np.float16 and queries.role == "query"
    run = exact_search(store, queries, 5, show_progress=False)
    order, scores = _brute_force(q, emb, 5)
    assert run.query_ids == qids and run.doc_ids == [[ids[j] for j in r] for r in order] and run.scores == scores
    assert search(store, queries, 5, show_progress=False) == run


def test_index_search_flat_equals_exact_and_dispatch(corpus):
    emb, ids, store = corpus
    q = _grid(9, 6, 2)
    qids = [f"q{i}" for i in range(9)]
    index = build_index(store, IndexConfig(), show_progress=False)
    exact = exact_search(store, q, 60, query_ids=qids, show_progress=False)
    # faiss may keep another of equally scored docs at the cut; with k >= n every doc is kept and sorted alike
    assert index_search(index, q, 60, query_ids=qids, batch_size=4, show_progress=False) == exact
    assert search(index, q, 60, query_ids=qids, show_progress=False) == exact
    assert all(len(d) == 53 for d in exact.doc_ids)


def test_bad_inputs(corpus):
    emb, ids, store = corpus
    with pytest.raises(ValueError, match="query dim 5 != corpus dim 6"):
        exact_search(store, np.zeros((2, 5), np.float32), 3, query_ids=["a", "b"], show_progress=False)
    with pytest.raises(ValueError, match="2 query embeddings but 1 query ids"):
        exact_search(store, np.zeros((2, 6), np.float32), 3, query_ids=["a"], show_progress=False)
    with pytest.raises(ValueError, match="k and batch_size must be positive, got k=0"):
        exact_search(store, np.zeros((1, 6), np.float32), 0, query_ids=["a"], show_progress=False)
    with pytest.raises(ValueError, match="53 rows but 2 doc ids"):
        exact_search(emb, np.zeros((1, 6), np.float32), 3, query_ids=["a"], doc_ids=["x", "y"])
    with pytest.raises(ValueError, match="query_ids come from the query store"):
        load_queries(store, ["a"])


def test_recall_at_k():
    exact = Run(["q1", "q2", "q3"], [["a", "b", "c"], ["d", "e"], []], [[3, 2, 1], [2, 1], []])
    approx = Run(["q1", "q2"], [["b", "x", "a"], ["e", "d"]], [[3, 2, 1], [2, 1]])
    assert recall_at_k(approx, exact, 2) == pytest.approx((1 / 2 + 2 / 2) / 2)
    assert recall_at_k(approx, exact, 3) == pytest.approx((2 / 3 + 1) / 2)
    assert recall_at_k(Run([], [], []), exact, 3) == 0.0  # missing queries count as 0
    assert recall_at_k(exact, exact, 10) == 1.0
    with pytest.raises(ValueError, match="k must be positive"):
        recall_at_k(exact, exact, 0)
