"""The embedding-shard store: a directory of fixed-size chunks of corpus embeddings with their ids.

What: the output of ``python -m hf_hybrid.encode`` and the input of the search layer. Layout::

    manifest.json               format, the StoreSpec fields, "complete", the list of chunks (rows, sha256)
    chunk-000000.npy            float16/float32 [rows, dim], rows start*chunk_size .. of the corpus order
    chunk-000000.ids.txt        the ids of those rows, one per line (UTF-8)
    chunk-000000.json           written last: the chunk's start, rows and the sha256 of both files

Why by hand rather than one ``datasets``/Arrow file: N processes write disjoint chunks concurrently, each chunk
atomically (:func:`hf_hybrid.checkpoint.atomic.atomic_write_bytes`), so a kill loses only the chunks in flight
and a rerun keeps what is done; ``.npy`` files are memory-mapped by ``np.load(mmap_mode="r")``, so a reader (exact
search streaming over chunks) holds one chunk at a time. A chunk counts as done only when its ``.json`` exists
and the hashes of both files and the ids match (:func:`finished_chunk`), not merely when files exist.

The manifest is written twice by the main process: at the start with ``"complete": false`` (it records the
:class:`StoreSpec`, so a later run with another model, settings or corpus is refused: ``prepare_store`` in
:mod:`hf_hybrid.retrieval.encode_corpus`)
and at the end with the chunk list. :class:`EmbeddingStore` opens only complete stores.

Example::

    store = EmbeddingStore("runs/scifact-e5")
    store.dim, store.dtype, store.num_rows
    for ids, emb in store.chunks():   # emb: np.memmap [rows, dim]
        ...
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from hf_hybrid.checkpoint.atomic import atomic_write_bytes, atomic_write_json

__all__ = ["DTYPES", "ChunkInfo", "EmbeddingStore", "StoreError", "StoreSpec", "finished_chunk", "is_leftover",
           "is_store_file", "read_manifest", "recorded_chunk", "write_chunk", "write_manifest"]

FORMAT = "hf-hybrid-embeddings"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DTYPES = ("float16", "float32")


class StoreError(ValueError):
    """A store directory that cannot be used as asked; the message names it and says what to do."""


def chunk_name(index: int) -> str:
    return f"chunk-{index:06d}"


def is_store_file(name: str) -> bool:
    """A file name the store owns (``--overwrite`` removes these and nothing else)."""
    return name == MANIFEST or (name.startswith("chunk-") and name.endswith((".npy", ".ids.txt", ".json")))


def is_leftover(name: str) -> bool:
    """A temporary file of an atomic write that a kill interrupted (``.chunk-000003.npy.tmp1234``)."""
    return name.startswith((".chunk-", f".{MANIFEST}.tmp")) and ".tmp" in name


@dataclass(frozen=True)
class StoreSpec:
    """What a store's embeddings depend on: two runs may share a directory only when their specs are equal.

    ``settings`` is the model's ``get_config_dict()`` (pooling, normalisation, prompts, lengths); ``prompt`` and
    ``max_length`` are those of ``role``. ``chunk_size`` fixes the chunk ranges independently of the process count.
    """

    dim: int
    dtype: str
    num_rows: int
    chunk_size: int
    model_fingerprint: str
    corpus_fingerprint: str
    role: str
    prompt: str
    max_length: int
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype={self.dtype!r}: use one of {DTYPES}")
        if self.chunk_size <= 0 or self.num_rows <= 0 or self.dim <= 0:
            raise ValueError(f"chunk_size, num_rows and dim must be positive, got {self.chunk_size}, "
                             f"{self.num_rows}, {self.dim}")

    @property
    def num_chunks(self) -> int:
        return -(-self.num_rows // self.chunk_size)

    def chunk_range(self, index: int) -> tuple[int, int]:
        """``(start, stop)`` rows of chunk ``index`` in the corpus order."""
        start = index * self.chunk_size
        return start, min(start + self.chunk_size, self.num_rows)

    def differences(self, other: StoreSpec) -> list[str]:
        """``"field: mine vs other"`` for every field that differs (fingerprints shortened)."""
        def show(name: str, value: Any) -> str:
            return repr(value[:12] + "...") if name.endswith("fingerprint") else repr(value)

        return [f"{f.name}: {show(f.name, getattr(self, f.name))} vs {show(f.name, getattr(other, f.name))}"
                for f in fields(self) if json.dumps(getattr(self, f.name), sort_keys=True, default=str)
                != json.dumps(getattr(other, f.name), sort_keys=True, default=str)]

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> StoreSpec:
        return cls(**{f.name: manifest[f.name] for f in fields(cls) if f.name in manifest})


@dataclass(frozen=True)
class ChunkInfo:
    """One finished chunk: its index, first row, row count and the sha256 of its ``.npy`` and ``.ids.txt``."""

    index: int
    start: int
    rows: int
    sha256: str
    ids_sha256: str


def _ids_bytes(ids: Sequence[str]) -> bytes:
    return ("\n".join(ids) + "\n").encode("utf-8")


def _sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def write_chunk(directory: str | os.PathLike, spec: StoreSpec, index: int, ids: Sequence[str],
                embeddings: np.ndarray) -> ChunkInfo:
    """Write chunk ``index`` (embeddings cast to ``spec.dtype``), each file atomically, its ``.json`` last."""
    directory = Path(directory)
    start, stop = spec.chunk_range(index)
    emb = np.ascontiguousarray(embeddings, dtype=spec.dtype)
    if emb.shape != (stop - start, spec.dim) or len(ids) != stop - start:
        raise ValueError(f"chunk {index}: expected {stop - start} rows of dim {spec.dim}, got embeddings "
                         f"{emb.shape} and {len(ids)} ids")
    buf = io.BytesIO()
    np.save(buf, emb, allow_pickle=False)
    data, id_data = buf.getvalue(), _ids_bytes(ids)
    name = chunk_name(index)
    atomic_write_bytes(directory / f"{name}.npy", data)
    atomic_write_bytes(directory / f"{name}.ids.txt", id_data)
    info = ChunkInfo(index, start, stop - start, hashlib.sha256(data).hexdigest(), hashlib.sha256(id_data).hexdigest())
    atomic_write_json(directory / f"{name}.json", asdict(info))
    return info


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def finished_chunk(directory: str | os.PathLike, spec: StoreSpec, index: int,
                   ids: Sequence[str]) -> ChunkInfo | None:
    """The chunk's :class:`ChunkInfo` when it is complete and intact (rows, ids, both hashes, shape), else None."""
    directory, name = Path(directory), chunk_name(index)
    info = recorded_chunk(directory, spec, index)
    id_data = _ids_bytes(ids)
    if info is None or info.ids_sha256 != hashlib.sha256(id_data).hexdigest():
        return None
    try:
        if (directory / f"{name}.ids.txt").read_bytes() != id_data or \
                _sha256_file(directory / f"{name}.npy") != info.sha256:
            return None
        emb = np.load(directory / f"{name}.npy", mmap_mode="r")
    except (OSError, ValueError):
        return None
    return info if emb.shape == (info.rows, spec.dim) and emb.dtype == np.dtype(spec.dtype) else None


def recorded_chunk(directory: str | os.PathLike, spec: StoreSpec, index: int) -> ChunkInfo | None:
    """The chunk's ``.json`` record when it exists and fits ``spec`` (no re-hash: for the manifest at the end)."""
    start, stop = spec.chunk_range(index)
    try:
        info = ChunkInfo(**_read_json(Path(directory) / f"{chunk_name(index)}.json"))
    except TypeError:
        return None
    return info if (info.index, info.start, info.rows) == (index, start, stop - start) else None


def read_manifest(directory: str | os.PathLike) -> dict[str, Any] | None:
    """The manifest of ``directory``, or None when it has none; a damaged or foreign one is a StoreError."""
    path = Path(directory) / MANIFEST
    if not path.exists():
        return None
    manifest = _read_json(path)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise StoreError(f"{path}: not an hf-hybrid embedding store manifest (damaged, or another tool's file).")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise StoreError(f"{path}: store format version {manifest.get('format_version')!r}; this hf-hybrid reads "
                         f"version {FORMAT_VERSION}. Re-encode with this version.")
    return manifest


def write_manifest(directory: str | os.PathLike, spec: StoreSpec, chunks: Sequence[ChunkInfo] | None,
                   model: str = "", corpus: str = "") -> Path:
    """Write the manifest: ``chunks=None`` marks an encoding in progress, a full list a complete store."""
    entries = [{"file": f"{chunk_name(c.index)}.npy", "ids_file": f"{chunk_name(c.index)}.ids.txt", **asdict(c)}
               for c in (chunks or [])]
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "complete": chunks is not None, **asdict(spec),
                "model": model, "corpus": corpus, "chunks": entries}
    return atomic_write_json(Path(directory) / MANIFEST, manifest)


class EmbeddingStore:
    """Read a complete store: ``dim``, ``dtype``, ``num_rows``, ``chunks()``, ``ids()``, ``load_all()``.

    Args:
        path: the store directory (the ``--output`` of ``python -m hf_hybrid.encode``).
        verify: re-hash every chunk file against the manifest on opening (:meth:`verify`).
    """

    def __init__(self, path: str | os.PathLike, verify: bool = False):
        self.path = Path(path)
        manifest = read_manifest(self.path)
        if manifest is None:
            raise StoreError(f"{self.path}: no {MANIFEST}; this is not an embedding store. Create one with "
                             "`python -m hf_hybrid.encode --model M --corpus FILE --output DIR`.")
        if not manifest.get("complete"):
            raise StoreError(f"{self.path}: the encoding into this store has not finished; rerun the same "
                             "`python -m hf_hybrid.encode` command to resume it.")
        self.manifest = manifest
        self.spec = StoreSpec.from_manifest(manifest)
        self._chunks = [ChunkInfo(**{k: c[k] for k in ("index", "start", "rows", "sha256", "ids_sha256")})
                        for c in manifest["chunks"]]
        if [c.index for c in self._chunks] != list(range(self.spec.num_chunks)) or \
                sum(c.rows for c in self._chunks) != self.spec.num_rows:
            raise StoreError(f"{self.path / MANIFEST}: the chunk list does not cover rows 0..{self.spec.num_rows - 1}"
                             " once; the manifest is damaged. Re-encode into a new directory.")
        if verify:
            self.verify()

    dim = property(lambda self: self.spec.dim)
    num_rows = property(lambda self: self.spec.num_rows)
    role = property(lambda self: self.spec.role)
    dtype = property(lambda self: np.dtype(self.spec.dtype))

    def __len__(self) -> int:
        return self.spec.num_rows

    def __repr__(self) -> str:
        return f"EmbeddingStore({str(self.path)!r}, rows={self.num_rows}, dim={self.dim}, dtype={self.spec.dtype})"

    def _chunk_ids(self, info: ChunkInfo) -> list[str]:
        ids = (self.path / f"{chunk_name(info.index)}.ids.txt").read_bytes().decode("utf-8").split("\n")[:-1]
        if len(ids) != info.rows:
            raise StoreError(f"{self.path / chunk_name(info.index)}.ids.txt: {len(ids)} ids, the manifest says "
                             f"{info.rows}; the store is damaged. Re-encode into a new directory.")
        return ids

    def chunks(self) -> Iterator[tuple[list[str], np.ndarray]]:
        """``(ids, embeddings)`` per chunk in corpus order; the embeddings are a read-only memory map."""
        for info in self._chunks:
            emb = np.load(self.path / f"{chunk_name(info.index)}.npy", mmap_mode="r")
            if emb.shape != (info.rows, self.dim) or emb.dtype != self.dtype:
                raise StoreError(f"{self.path / chunk_name(info.index)}.npy: shape {emb.shape} {emb.dtype}, expected "
                                 f"({info.rows}, {self.dim}) {self.dtype}; the store is damaged.")
            yield self._chunk_ids(info), emb

    def ids(self) -> list[str]:
        """Every id, in corpus order."""
        return [i for info in self._chunks for i in self._chunk_ids(info)]

    def load_all(self, dtype: Any = np.float32) -> np.ndarray:
        """All embeddings as one in-memory ``[num_rows, dim]`` array of ``dtype``."""
        out = np.empty((self.num_rows, self.dim), dtype=dtype)
        for info, (_, emb) in zip(self._chunks, self.chunks()):
            out[info.start : info.start + info.rows] = emb
        return out

    def verify(self) -> None:
        """Re-hash every chunk's files against the manifest; a mismatch is a StoreError naming the file."""
        for info in self._chunks:
            for suffix, digest in ((".npy", info.sha256), (".ids.txt", info.ids_sha256)):
                path = self.path / f"{chunk_name(info.index)}{suffix}"
                if not path.is_file() or _sha256_file(path) != digest:
                    raise StoreError(f"{path}: missing or changed since it was written (sha256 mismatch); "
                                     "re-encode into a new directory.")
