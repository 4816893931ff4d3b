"""Embedding stores and synthetic embeddings for the search tests (tests/retrieval, tests/commands).

``write_store`` writes a real :class:`~hf_hybrid.retrieval.shards.EmbeddingStore` directory through the
encode engineer's writer functions, so the tests read stores exactly as ``python -m hf_hybrid.encode`` leaves them.
``clustered`` draws embeddings around Gaussian cluster centres on the unit sphere (how real sentence embeddings
look to an index: topical clusters), so IVF / HNSW recall is meaningful and not the degenerate case of uniform noise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hf_hybrid.retrieval.shards import StoreSpec, write_chunk, write_manifest


def write_store(path: Path, embeddings: np.ndarray, ids: list[str], chunk_size: int = 4, role: str = "passage",
                dtype: str = "float32", model_fingerprint: str = "test-model") -> Path:
    """A complete store of ``embeddings`` (cast to ``dtype``) with ``ids``, in chunks of ``chunk_size`` rows."""
    spec = StoreSpec(dim=embeddings.shape[1], dtype=dtype, num_rows=len(ids), chunk_size=chunk_size,
                     model_fingerprint=model_fingerprint, corpus_fingerprint="test-corpus", role=role, prompt="",
                     max_length=16)
    chunks = [write_chunk(path, spec, i, ids[lo:hi], embeddings[lo:hi])
              for i, (lo, hi) in enumerate(map(spec.chunk_range, range(spec.num_chunks)))]
    write_manifest(path, spec, chunks)
    return path


def clustered(n: int, dim: int, n_clusters: int, seed: int, noise: float = 0.5) -> np.ndarray:
    """``n`` unit vectors: a centre drawn uniformly on the sphere per cluster, plus Gaussian noise of
    norm ~``noise``, normalised (float32)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = centres[rng.integers(0, n_clusters, n)] + rng.standard_normal((n, dim)).astype(np.float32) * noise / dim ** 0.5
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def near(corpus: np.ndarray, n: int, seed: int, noise: float = 0.3) -> np.ndarray:
    """``n`` queries, each a random corpus row plus noise, normalised (queries that have near neighbours)."""
    rng = np.random.default_rng(seed)
    x = corpus[rng.integers(0, len(corpus), n)] + rng.standard_normal((n, corpus.shape[1])).astype(np.float32) \
        * noise / corpus.shape[1] ** 0.5
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
