"""Top-k search of query embeddings against corpus embeddings: exact (streamed) or with a built index.

What: :func:`exact_search` scores every query against every passage of an
:class:`~hf_hybrid.retrieval.shards.EmbeddingStore` (or an array) by inner product and keeps the best ``k``;
:func:`index_search` asks a built :class:`~hf_hybrid.retrieval.index.DenseIndex` (IVF, HNSW, PQ...);
:func:`search` picks one of the two from its argument. All return a
:class:`~hf_hybrid.retrieval.run_file.Run`. :func:`recall_at_k` measures an approximate run against the
exact one.

How the exact search stays bounded in memory: the corpus is the outer loop, one chunk at a time (a float16
chunk is converted to float32 once, ~25 MB for 16,384 x 384); for each batch of queries the scores
``Q_b @ C.T`` come from NumPy's float32 BLAS matmul and the chunk's candidates are merged into a running
``[queries, k]`` top-k. Peak memory: one chunk, one ``[batch, chunk]`` score block and its mask, and the
running top-k (10k queries x 100 = 12 MB); never the corpus.

Why NumPy matmul and not a per-chunk ``faiss.IndexFlatIP`` / ``faiss.knn``: the same BLAS GEMM does the work
in both, but (1) faiss's heap keeps an unspecified one of equally scored documents, while the tie policy here
(score descending, then corpus order ascending, that of :mod:`hf_hybrid.evaluation.ranking`) must hold also
at the k-th place, and (2) a float32 GEMM rounds differently with the block shapes (chunk size, query batch,
threads), so chunked and unchunked search would disagree in the last bits and, at near-ties, in the ids.
So the float32 GEMM only *selects*: every document whose float32 score is within the rigorous error bound
``gamma_d * |q| * |e|`` of the k-th best is kept (a handful more than k) and rescored in float64, rounded to
float32. The reported scores are therefore the float64 inner products rounded to float32, whatever the
chunking or batching, and the run is the exact top-k under the tie policy (what a brute-force
``argsort`` of ``float64(Q) @ float64(E).T`` gives).

Search with an index returns what the index finds; its ``k`` results are re-sorted with the same tie policy.

Example::

    corpus = EmbeddingStore("emb/corpus")
    queries = EmbeddingStore("emb/queries")          # role "query"
    exact = exact_search(corpus, queries, k=100)
    approx = index_search(build_index(corpus, IndexConfig(kind="hnsw")), queries, k=100)
    recall_at_k(approx, exact, k=10)                 # share of the exact top-10 the index found

References: faiss ``knn`` / ``IndexFlatIP`` (the same computation, with a heap); ranx for the run form.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .index import DenseIndex, iter_float32_chunks
from .run_file import Run

__all__ = ["exact_search", "index_search", "load_queries", "recall_at_k", "search"]

_NO_ROW = np.iinfo(np.int64).max  # the row of an empty top-k slot (sorts after every real row)


def load_queries(queries: Any, query_ids: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """``(float32 [n, dim] array, ids)`` of an embedding store of queries or of an array with ``query_ids``."""
    if hasattr(queries, "chunks"):
        if query_ids is not None:
            raise ValueError("query_ids come from the query store; do not pass them as well.")
        return queries.load_all(np.float32), list(queries.ids())
    array = np.ascontiguousarray(queries, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"query embeddings must be 2-D (queries x dim), got shape {array.shape}.")
    if query_ids is None or len(query_ids) != len(array):
        raise ValueError(f"{len(array)} query embeddings but {None if query_ids is None else len(query_ids)} "
                         "query ids; pass one id per row.")
    return array, list(query_ids)


def _sort_rows(scores: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each line's entries ordered by score descending then row ascending, cut to ``k``."""
    order = np.lexsort((rows, -scores), axis=-1)[:, :k]
    return np.take_along_axis(scores, order, -1), np.take_along_axis(rows, order, -1)


def _error_bound(dim: int) -> float:
    """``gamma_(dim+2)``: |float32 dot - exact dot| <= this * |q| * |e| for any summation order (Higham, 3.1),
    with two units of slack for the float32 rounding of the reported scores."""
    u = 2.0 ** -24
    return (dim + 2) * u / (1 - (dim + 2) * u)


def _candidates(scores: np.ndarray, k: int, floor: np.ndarray, slack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(line, column)`` pairs of a float32 score block that may belong to the exact top-``k``.

    A pair is kept when its float32 score is >= ``floor - slack`` (``floor``: the k-th best exact score so
    far) and, where that keeps more than ``k``, >= ``t - 2 * slack`` (``t``: the line's k-th best float32
    score). ``slack`` bounds the float32 error, so no pair of the exact top-k (ties included) is dropped.
    """
    threshold = floor - slack
    keep = scores >= threshold[:, None]
    counts = keep.sum(axis=1)
    wide = np.flatnonzero(counts > k)
    if len(wide):
        n = scores.shape[1]
        kth = np.partition(scores[wide], n - k, axis=1)[:, n - k]
        threshold[wide] = np.maximum(threshold[wide], kth - 2 * slack[wide])
        keep[wide] = scores[wide] >= threshold[wide, None]
    return np.nonzero(keep)


def _rescore(q: np.ndarray, block: np.ndarray, lines: np.ndarray, cols: np.ndarray, step: int = 8192) -> np.ndarray:
    """Float64 inner products of the pairs, rounded to float32 (the same value whatever the batching)."""
    out = np.empty(len(lines), dtype=np.float32)
    for lo in range(0, len(lines), step):
        a = q[lines[lo:lo + step]].astype(np.float64)
        out[lo:lo + step] = (a * block[cols[lo:lo + step]].astype(np.float64)).sum(axis=1)
    return out


def _padded(lines: np.ndarray, values: np.ndarray, n_lines: int, fill: Any) -> np.ndarray:
    """Variable-length per-line values (``lines`` sorted) as an ``[n_lines, max count]`` array padded with ``fill``."""
    counts = np.bincount(lines, minlength=n_lines)
    out = np.full((n_lines, max(int(counts.max(initial=0)), 1)), fill, dtype=values.dtype)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    out[lines, np.arange(len(lines)) - starts[lines]] = values
    return out


def exact_search(corpus: Any, queries: Any, k: int = 100, *, query_ids: list[str] | None = None,
                 doc_ids: list[str] | None = None, batch_size: int = 1024, block_rows: int = 16384,
                 show_progress: bool = True, name: str = "hf-hybrid") -> Run:
    """Exact inner-product top-``k`` of every query, streaming over the corpus chunks.

    Args:
        corpus: an embedding store (role passage) or a 2-D array with ``doc_ids``.
        queries: an embedding store (role query) or a 2-D array with ``query_ids``.
        k: candidates per query (fewer when the corpus is smaller).
        batch_size: queries scored against a chunk at once (memory: ``batch_size x chunk rows`` float32 + a mask).
        block_rows: rows per block when ``corpus`` is an array (a store has its own chunks).
        name: the run tag.

    Returns:
        A :class:`Run`; per query, scores descending, equal scores by corpus order.
    """
    if k <= 0 or batch_size <= 0:
        raise ValueError(f"k and batch_size must be positive, got k={k}, batch_size={batch_size}.")
    q, qids = load_queries(queries, query_ids)
    n_q = len(q)
    best_s = np.full((n_q, k), -np.inf, dtype=np.float32)
    best_i = np.full((n_q, k), _NO_ROW, dtype=np.int64)
    all_ids: list[str] = []
    slack = _error_bound(q.shape[1]) * np.linalg.norm(q, axis=1)  # times the block's largest norm: the float32 error
    total = corpus.num_rows if hasattr(corpus, "chunks") else len(corpus)
    with tqdm(total=total, desc="exact search", unit="doc", disable=not show_progress) as bar:
        for ids, block in iter_float32_chunks(corpus, doc_ids, block_rows):
            if block.shape[1] != q.shape[1]:
                raise ValueError(f"query dim {q.shape[1]} != corpus dim {block.shape[1]}: different models?")
            offset = len(all_ids)
            all_ids.extend(ids)
            bound = slack * float(np.linalg.norm(block, axis=1).max(initial=0.0))
            for lo in range(0, n_q, batch_size):
                hi = min(lo + batch_size, n_q)
                lines, cols = _candidates(q[lo:hi] @ block.T, k, best_s[lo:hi, k - 1].copy(), bound[lo:hi])
                exact = _rescore(q[lo:hi], block, lines, cols)
                new_s = _padded(lines, exact, hi - lo, -np.inf)
                new_i = _padded(lines, cols + offset, hi - lo, _NO_ROW)
                best_s[lo:hi], best_i[lo:hi] = _sort_rows(np.concatenate([best_s[lo:hi], new_s], 1),
                                                          np.concatenate([best_i[lo:hi], new_i], 1), k)
            bar.update(len(block))
    keep = min(k, len(all_ids))
    return Run(qids, [[all_ids[j] for j in row[:keep]] for row in best_i.tolist()],
               [row[:keep] for row in best_s.tolist()], name)


def index_search(index: DenseIndex, queries: Any, k: int = 100, *, query_ids: list[str] | None = None,
                 batch_size: int = 1024, show_progress: bool = True, name: str = "hf-hybrid") -> Run:
    """Top-``k`` of every query from a built index (approximate unless the index is ``flat``)."""
    if k <= 0 or batch_size <= 0:
        raise ValueError(f"k and batch_size must be positive, got k={k}, batch_size={batch_size}.")
    q, qids = load_queries(queries, query_ids)
    if q.shape[1] != index.index.d:
        raise ValueError(f"query dim {q.shape[1]} != index dim {index.index.d}: different models?")
    doc_ids, out_docs, out_scores = index.doc_ids, [], []
    for lo in tqdm(range(0, len(q), batch_size), desc=f"search ({index.factory})", unit="batch",
                   disable=not show_progress):
        scores, rows = index.search(q[lo:lo + batch_size], k)
        scores, rows = _sort_rows(scores, np.where(rows < 0, _NO_ROW, rows), k)
        for s_row, i_row in zip(scores.tolist(), rows.tolist()):
            found = [j for j in i_row if j != _NO_ROW]
            out_docs.append([doc_ids[j] for j in found])
            out_scores.append(s_row[:len(found)])
    return Run(qids, out_docs, out_scores, name)


def search(source: Any, queries: Any, k: int = 100, batch_size: int = 1024, **kwargs: Any) -> Run:
    """:func:`index_search` when ``source`` is a :class:`DenseIndex`, else :func:`exact_search` over it."""
    if isinstance(source, DenseIndex):
        return index_search(source, queries, k, batch_size=batch_size, **kwargs)
    return exact_search(source, queries, k, batch_size=batch_size, **kwargs)


def recall_at_k(approx: Run, exact: Run, k: int) -> float:
    """The share of each query's exact top-``k`` doc ids found in the approximate top-``k``, averaged over queries.

    Queries of ``exact`` missing from ``approx`` count as 0; queries with no exact candidates are skipped.
    (With ties at the exact k-th score an exact index with another tie order can score below 1.)
    """
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}.")
    found = {q: set(docs[:k]) for q, docs in zip(approx.query_ids, approx.doc_ids)}
    shares = [len(found.get(q, set()).intersection(docs[:k])) / len(docs[:k])
              for q, docs in zip(exact.query_ids, exact.doc_ids) if docs]
    return float(np.mean(shares)) if shares else 0.0
