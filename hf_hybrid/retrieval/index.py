"""A FAISS index over corpus embeddings: build (streaming over an embedding store), save, load.

What: :class:`IndexConfig` names the index (``flat``: exact inner product, the default; ``ivf``, ``hnsw``,
``ivfpq``, ``pq``: approximate; or any ``faiss.index_factory`` string such as ``"IVF1024,SQ8"``) and its
settings; :func:`build_index` turns an :class:`~hf_hybrid.retrieval.shards.EmbeddingStore` (or an array)
into a :class:`DenseIndex` (the faiss index + the doc ids, row ``i`` of the index is ``doc_ids[i]``);
:meth:`DenseIndex.save` / :func:`load_index` store it as a directory ``index.faiss`` + ``index.json``.

Why this way: every kind is built by ``faiss.index_factory`` from a description string (no hand-built
quantizers); the search-time knobs (``nprobe``, ``efSearch``) go through ``faiss.ParameterSpace`` so they
also reach an index wrapped for the GPU. A store's chunks are streamed: each float16 chunk is converted to
float32 on its own and added, so the corpus is never in memory twice (the index itself holds its vectors:
a flat or HNSW index of 1M x 384 is ~1.5 GB; exact search without any index is
:func:`hf_hybrid.retrieval.search.exact_search`). IVF / PQ train on ``train_size`` rows drawn with
``seed``; faiss's k-means is seeded with the same ``seed``, so a build is reproducible (an HNSW graph
built with several threads may differ in its last links between runs; its recall does not move).
GPU FAISS is used for building and searching when ``faiss.get_num_gpus() > 0`` (HNSW has no GPU version and
stays on the CPU); saved indexes are always CPU indexes.

Defaults: ``nlist = 4 * sqrt(n)`` (the faiss guideline), capped so each list gets >= 39 training points;
``train_size = min(n, 64 * nlist)`` (faiss wants 30..256 points per centroid) and >= ``64 * 2**pq_nbits``
for PQ codebooks.

Example::

    config = IndexConfig(kind="hnsw", hnsw_m=32, ef_search=128)
    index = build_index(EmbeddingStore("emb/corpus"), config)
    index.save("emb/hnsw")
    index = load_index("emb/hnsw")
    scores, rows = index.search(query_vectors, 10)

References: Johnson et al., "Billion-scale similarity search with GPUs" (2017); the faiss wiki,
"Guidelines to choose an index" and "The index factory".
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

try:
    import faiss
except ImportError as exc:  # an optional dependency: say which extra brings it
    raise ImportError("hf_hybrid.retrieval's index and search need faiss: pip install 'hf-hybrid[retrieval]' "
                      "(or faiss-gpu).") from exc

from hf_hybrid.checkpoint.atomic import atomic_write_json
from hf_hybrid.checkpoint.jsonfile import read_json

__all__ = ["DenseIndex", "IndexConfig", "build_index", "load_index", "iter_float32_chunks"]

INDEX_FILE = "index.faiss"
META_FILE = "index.json"
FORMAT_VERSION = 1
NAMED_KINDS = ("flat", "ivf", "hnsw", "ivfpq", "pq")


def _opt(default: Any, help: str, **extra: Any) -> Any:
    return field(default=default, metadata={"help": help, **extra})


@dataclass
class IndexConfig:
    """How to index the corpus embeddings (inner product on the encoder's vectors); the fields are also the
    ``python -m hf_hybrid.search`` flags (``--index_kind`` for ``kind``). Raw factory strings get ``nprobe`` /
    ``ef_search`` when they hold an IVF / HNSW part."""

    kind: str = _opt("flat", "flat (exact) | ivf | hnsw | ivfpq | pq | a faiss.index_factory string such as "
                     "'IVF4096,SQ8'", aliases=["--index_kind"])
    metric: str = _opt("inner_product", "inner_product only: dual encoders score by dot product")
    nlist: int | None = _opt(None, "IVF lists (None: 4 * sqrt(n), at most n / 39)")
    nprobe: int = _opt(32, "IVF lists visited per query (search time: more = higher recall, slower)")
    hnsw_m: int = _opt(32, "HNSW neighbours per node")
    ef_construction: int = _opt(80, "HNSW candidate list while building")
    ef_search: int = _opt(128, "HNSW candidate list while searching")
    pq_m: int | None = _opt(None, "PQ sub-quantizers, must divide the dim (None: dim / 8)")
    pq_nbits: int = _opt(8, "bits per PQ code")
    train_size: int | None = _opt(None, "rows drawn to train IVF / PQ (None: min(n, 64 * nlist))")
    seed: int = _opt(0, "seed of the training sample and of k-means")
    use_gpu: bool | None = _opt(None, "None: GPU FAISS when faiss.get_num_gpus() > 0; false: CPU")

    def __post_init__(self) -> None:
        if self.metric != "inner_product":
            raise ValueError(f"IndexConfig.metric={self.metric!r}: only 'inner_product' is supported (dual "
                             "encoders score by dot product; normalise the embeddings for cosine).")
        for name in ("nprobe", "hnsw_m", "ef_construction", "ef_search", "pq_nbits"):
            if getattr(self, name) <= 0:
                raise ValueError(f"IndexConfig.{name} must be positive, got {getattr(self, name)}.")
        for name in ("nlist", "pq_m", "train_size"):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise ValueError(f"IndexConfig.{name} must be positive or None, got {getattr(self, name)}.")

    def get_config_dict(self) -> dict[str, Any]:
        """The settings, for run records and ``index.json``."""
        return asdict(self)

    @property
    def is_exact(self) -> bool:
        return self.kind.lower() in ("flat", "flatip", "flat_ip")

    def resolved_nlist(self, n: int) -> int:
        nlist = self.nlist or max(1, round(4 * math.sqrt(n)))
        return nlist if self.nlist else max(1, min(nlist, n // 39))

    def factory_string(self, n: int, dim: int) -> str:
        """The ``faiss.index_factory`` description of this config for ``n`` vectors of ``dim``."""
        kind = self.kind.lower()
        if kind not in NAMED_KINDS:
            return self.kind
        if kind in ("pq", "ivfpq"):
            pq_m = self.pq_m or max(1, dim // 8)
            if dim % pq_m:
                raise ValueError(f"IndexConfig.pq_m={pq_m} must divide the embedding dimension {dim}.")
            pq = f"PQ{pq_m}x{self.pq_nbits}"
            return pq if kind == "pq" else f"IVF{self.resolved_nlist(n)},{pq}"
        return {"flat": "Flat", "ivf": f"IVF{self.resolved_nlist(n)},Flat", "hnsw": f"HNSW{self.hnsw_m}"}[kind]

    def resolved_train_size(self, n: int, dim: int) -> int:
        if self.train_size:
            return min(n, self.train_size)
        need = 0
        desc = self.factory_string(n, dim)
        if "IVF" in desc:
            need = 64 * self.resolved_nlist(n)
        if "PQ" in desc:
            need = max(need, 64 * 2 ** self.pq_nbits)
        return min(n, max(need, 1))


@dataclass
class DenseIndex:
    """A faiss index and the doc id of each of its rows (``doc_ids[i]`` is row ``i``)."""

    index: Any
    doc_ids: list[str]
    config: IndexConfig
    factory: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_rows(self) -> int:
        return int(self.index.ntotal)

    def set_search_params(self, nprobe: int | None = None, ef_search: int | None = None) -> None:
        """Change the search-time knobs (they also go into ``config`` and thus into the saved record)."""
        space = faiss.GpuParameterSpace() if _on_gpu(self.index) else faiss.ParameterSpace()
        if nprobe is not None:
            self.config.nprobe = nprobe
        if ef_search is not None:
            self.config.ef_search = ef_search
        if "IVF" in self.factory:
            space.set_index_parameter(self.index, "nprobe", self.config.nprobe)
        if _has_hnsw(self.index):
            space.set_index_parameter(self.index, "efSearch", self.config.ef_search)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """faiss ``(scores, rows)`` of a float32 query batch; missing results are row ``-1``."""
        return self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``index.faiss`` (temporary file, then rename) and ``index.json`` (config, doc ids, sizes).

        ``index.json`` is removed first and written last, so a directory whose save was killed has no
        ``index.json`` (or one that does not match the index file) and :func:`load_index` refuses it.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / META_FILE).unlink(missing_ok=True)
        tmp = directory / f".{INDEX_FILE}.tmp{os.getpid()}"
        faiss.write_index(faiss.index_gpu_to_cpu(self.index) if _on_gpu(self.index) else self.index, str(tmp))
        os.replace(tmp, directory / INDEX_FILE)
        atomic_write_json(directory / META_FILE, {
            "format_version": FORMAT_VERSION, "factory": self.factory, "config": self.config.get_config_dict(),
            "num_rows": self.num_rows, "dim": int(self.index.d), "index_bytes": (directory / INDEX_FILE).stat().st_size,
            "meta": self.meta, "doc_ids": self.doc_ids})
        return directory


def load_index(directory: str | os.PathLike, use_gpu: bool | None = None) -> DenseIndex:
    """Read a directory written by :meth:`DenseIndex.save` (refuses one whose save did not finish)."""
    directory = Path(directory)
    meta_path, index_path = directory / META_FILE, directory / INDEX_FILE
    if not meta_path.is_file() or not index_path.is_file():
        raise FileNotFoundError(f"{directory}: not a saved index (needs {INDEX_FILE} and {META_FILE}; a save that "
                                "was interrupted leaves no index.json). Build it again with build_index().save().")
    meta = read_json(meta_path, error=ValueError, what="saved index")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{meta_path}: format_version {meta.get('format_version')!r}, expected {FORMAT_VERSION}.")
    if index_path.stat().st_size != meta["index_bytes"]:
        raise ValueError(f"{index_path}: {index_path.stat().st_size} bytes but {META_FILE} records "
                         f"{meta['index_bytes']}: the two files come from different saves. Rebuild the index.")
    index = faiss.read_index(str(index_path))
    if index.ntotal != meta["num_rows"] or len(meta["doc_ids"]) != index.ntotal:
        raise ValueError(f"{directory}: the index holds {index.ntotal} rows, {META_FILE} {meta['num_rows']} rows "
                         f"and {len(meta['doc_ids'])} doc ids. Rebuild the index.")
    config = IndexConfig(**meta["config"])
    if use_gpu is not None:
        config.use_gpu = use_gpu
    out = DenseIndex(_to_gpu(index, config), list(meta["doc_ids"]), config, meta["factory"], dict(meta["meta"]))
    out.set_search_params()
    return out


def iter_float32_chunks(embeddings: Any, doc_ids: list[str] | None = None, block_rows: int = 16384):
    """``(ids, float32 C-contiguous block)`` of an embedding store's chunks or of an array in row blocks.

    ``embeddings`` is an :class:`~hf_hybrid.retrieval.shards.EmbeddingStore` (anything with ``chunks()``)
    or a 2-D array with ``doc_ids`` (one per row). Only one converted block is alive at a time.
    """
    if hasattr(embeddings, "chunks"):
        for ids, block in embeddings.chunks():
            yield list(ids), np.ascontiguousarray(block, dtype=np.float32)
        return
    array = np.asarray(embeddings)
    if array.ndim != 2:
        raise ValueError(f"embeddings must be 2-D (rows x dim), got shape {array.shape}.")
    if doc_ids is None or len(doc_ids) != len(array):
        raise ValueError(f"embeddings has {len(array)} rows but {None if doc_ids is None else len(doc_ids)} doc ids; "
                         "pass one doc id per row.")
    for start in range(0, len(array), block_rows):
        yield list(doc_ids[start:start + block_rows]), np.ascontiguousarray(array[start:start + block_rows],
                                                                            dtype=np.float32)


def _shape(embeddings: Any) -> tuple[int, int]:
    if hasattr(embeddings, "chunks"):
        return int(embeddings.num_rows), int(embeddings.dim)
    return tuple(np.shape(embeddings))  # type: ignore[return-value]


def _training_sample(embeddings: Any, doc_ids: list[str] | None, size: int, n: int, seed: int) -> np.ndarray:
    """``size`` rows drawn without replacement (sorted, so a store is read front to back once)."""
    rows = np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
    parts, offset = [], 0
    for _, block in iter_float32_chunks(embeddings, doc_ids):
        lo, hi = np.searchsorted(rows, [offset, offset + len(block)])
        parts.append(block[rows[lo:hi] - offset])
        offset += len(block)
    return np.ascontiguousarray(np.concatenate(parts))


def build_index(embeddings: Any, config: IndexConfig | None = None, doc_ids: list[str] | None = None,
                show_progress: bool = True) -> DenseIndex:
    """Build the index of ``config`` over an embedding store (streamed chunk by chunk) or an array + ``doc_ids``.

    Raises:
        ValueError: an empty corpus, ``pq_m`` not dividing the dimension, or a factory string faiss refuses.
    """
    config = config or IndexConfig()
    n, dim = _shape(embeddings)
    if n == 0:
        raise ValueError("cannot build an index over 0 embeddings.")
    factory = config.factory_string(n, dim)
    try:
        index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise ValueError(f"faiss.index_factory refused {factory!r} for dim {dim}: {exc}") from None
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        ivf.cp.seed = config.seed
    if hasattr(index, "pq"):
        index.pq.cp.seed = config.seed
    if _has_hnsw(index):
        faiss.downcast_index(index).hnsw.efConstruction = config.ef_construction
    index = _to_gpu(index, config)
    if not index.is_trained:
        size = config.resolved_train_size(n, dim)
        index.train(_training_sample(embeddings, doc_ids, size, n, config.seed))
    ids: list[str] = []
    with tqdm(total=n, desc=f"indexing ({factory})", unit="vec", disable=not show_progress) as bar:
        for block_ids, block in iter_float32_chunks(embeddings, doc_ids):
            index.add(block)
            ids.extend(block_ids)
            bar.update(len(block))
    trained = "IVF" in factory or "PQ" in factory
    spec = getattr(embeddings, "spec", None)  # a store records the model: search checks the queries' against it
    out = DenseIndex(index, ids, config, factory, {
        "dim": dim, "train_size": config.resolved_train_size(n, dim) if trained else 0,
        "model_fingerprint": getattr(spec, "model_fingerprint", None), "store": str(getattr(embeddings, "path", ""))})
    out.set_search_params()
    return out


def _wants_gpu(config: IndexConfig) -> bool:
    has_gpu = hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0
    return has_gpu if config.use_gpu is None else (config.use_gpu and has_gpu)


def _to_gpu(index: Any, config: IndexConfig) -> Any:
    """The index on the GPUs when faiss has them (an index type faiss cannot move, e.g. HNSW, stays put)."""
    if not _wants_gpu(config) or _has_hnsw(index):
        return index
    try:
        return faiss.index_cpu_to_all_gpus(index)
    except RuntimeError:  # a type without a GPU version: search it on the CPU
        return index


def _on_gpu(index: Any) -> bool:
    return "Gpu" in type(index).__name__ or type(index).__name__ == "IndexReplicas"


def _has_hnsw(index: Any) -> bool:
    return hasattr(faiss.downcast_index(index), "hnsw") if not _on_gpu(index) else False
