"""Sharded, resumable corpus encoding under ``accelerate``: :func:`encode_to_store`, :class:`EncodeSettings`.

What: embeds every row of a :class:`~hf_hybrid.retrieval.corpus.Corpus` into an embedding store
(:mod:`hf_hybrid.retrieval.shards`). The corpus is cut into fixed chunks of ``chunk_size`` rows (independent of
the number of processes); under ``accelerate launch --num_processes W`` process ``r`` encodes chunks
``r, r + W, r + 2W, ...`` (``accelerate.PartialState`` gives ``r`` and ``W``; a plain ``python`` run is
``W = 1``). On CPUs launch with ``accelerate launch --multi_gpu --num_processes W`` (``torchrun`` underneath,
gloo): accelerate's MULTI_CPU config type starts a single process unless ``mpirun`` is installed. Each chunk is
written atomically as soon as it is done, so a kill loses at most the chunks in flight, and a rerun of the same
command re-encodes only chunks that are missing or fail their hash check. After a barrier the main process
writes the manifest.

Why the result does not depend on ``W``: a chunk's rows, and the batches inside it, are the same whichever
process encodes it. Inside a chunk, rows are sorted by character length and fed to ``model.encode`` in blocks
of ``16 * batch_size`` (which sorts again by token count), so batches hold texts of similar length and padding is
small; the rows are put back in corpus order. Padding is masked, so the order changes embeddings only by float
rounding (< 1e-5, checked in tests/retrieval/test_encode_corpus.py against one text per batch).

Example::

    from hf_hybrid import DualEncoder
    from hf_hybrid.retrieval import load_corpus, encode_to_store, EncodeSettings
    model = DualEncoder.from_pretrained("intfloat/multilingual-e5-small")
    result = encode_to_store(model, load_corpus("corpus.jsonl"), "runs/emb", EncodeSettings(dtype="float16"))
    result.store.num_rows, result.rows_per_second
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hf_hybrid.evaluation.cache import model_fingerprint
from hf_hybrid.retrieval.corpus import Corpus
from hf_hybrid.retrieval.shards import (
    DTYPES,
    MANIFEST,
    EmbeddingStore,
    StoreError,
    StoreSpec,
    finished_chunk,
    is_leftover,
    is_store_file,
    read_manifest,
    recorded_chunk,
    write_chunk,
    write_manifest,
)

logger = logging.getLogger(__name__)

__all__ = ["EncodeResult", "EncodeSettings", "encode_to_store", "prepare_store", "process_state"]

#: batches per ``model.encode`` call inside a chunk: the progress bar moves once per block
BLOCK_BATCHES = 16


@dataclass
class EncodeSettings:
    """How a corpus is encoded into a store (``python -m hf_hybrid.encode`` parses these flags)."""

    role: str = field(default="passage", metadata={
        "help": "which tower, prompt and max length to use: 'passage' for a corpus, 'query' for queries",
        "choices": ["passage", "query"]})
    dtype: str = field(default="float32", metadata={
        "help": "storage dtype of the embeddings; float16 halves disk and search memory (about 1e-3 relative "
                "error)", "choices": list(DTYPES)})
    batch_size: int = field(default=64, metadata={"help": "texts per forward pass (per process)"})
    chunk_size: int = field(default=16384, metadata={
        "help": "rows per chunk file: the unit of work, of resuming, and of the search's streaming"})
    overwrite: bool = field(default=False, metadata={
        "help": "replace a store of another model/settings/corpus in --output instead of refusing"})
    progress: bool = field(default=True, metadata={"help": "tqdm progress bar on the main process"})

    def __post_init__(self) -> None:
        if self.role not in ("passage", "query"):
            raise ValueError(f"role={self.role!r}: use 'passage' or 'query'")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype={self.dtype!r}: use one of {DTYPES}")
        for name in ("batch_size", "chunk_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name}={value!r} must be a positive integer")

    def get_config_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EncodeResult:
    """What one process did: the chunks it encoded and skipped (already finished), rows and seconds."""

    store: EmbeddingStore
    encoded: list[int]
    skipped: list[int]
    rows_encoded: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows_encoded / self.seconds if self.seconds > 0 else 0.0


def process_state() -> Any:
    """This process's ``accelerate.PartialState`` (rank, world size, device, barrier).

    ``cpu=True`` when there is no GPU-like device (:func:`~hf_hybrid.modeling.device.has_accelerator`, the test
    training uses too) or ``ACCELERATE_USE_CPU`` is set: only then does accelerate treat a
    ``torchrun`` / ``accelerate launch --multi_gpu`` world on CPUs as one gloo group instead of W lone processes.
    """
    from accelerate import PartialState
    from accelerate.utils import parse_flag_from_env

    from ..modeling.device import has_accelerator

    return PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU") or not has_accelerator())


def _spec(model: Any, corpus: Corpus, settings: EncodeSettings) -> StoreSpec:
    role = settings.role
    return StoreSpec(dim=int(model.embedding_dim), dtype=settings.dtype, num_rows=len(corpus),
                     chunk_size=settings.chunk_size, model_fingerprint=model_fingerprint(model),
                     corpus_fingerprint=corpus.fingerprint(), role=role, prompt=model.prompt(role),
                     max_length=int(model.max_length(role)), settings=model.get_config_dict())


def encode_chunk(model: Any, texts: list[str], role: str, batch_size: int, on_block: Any = None) -> np.ndarray:
    """Float32 ``[len(texts), dim]`` embeddings in the order of ``texts``, encoded longest first in blocks."""
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out = np.empty((len(texts), int(model.embedding_dim)), dtype=np.float32)
    block = batch_size * BLOCK_BATCHES
    for s in range(0, len(order), block):
        idx = order[s : s + block]
        out[idx] = model.encode([texts[i] for i in idx], role=role, batch_size=batch_size, show_progress_bar=False)
        if on_block is not None:
            on_block(len(idx))
    return out


def prepare_store(directory: str | os.PathLike, spec: StoreSpec, overwrite: bool = False) -> str | None:
    """Check (and with ``overwrite`` clear) ``directory`` for a run of ``spec``; the problem in words, or None.

    Allowed: a new or empty directory, or a store (complete or not) of the same spec, which is resumed. A store of
    another spec (or a damaged manifest) is refused unless ``overwrite``, which removes the store's files and only
    those; a non-empty directory that is no store is always refused. Temporary files of writes a kill interrupted
    are removed. Returns the message rather than raising, so that the main process of a multi-process run can
    first release the others from the barrier.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        return f"{directory} exists and is not a directory; pass another --output."
    entries = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []
    try:
        manifest = read_manifest(directory)
        differences = [] if manifest is None else spec.differences(StoreSpec.from_manifest(manifest))
    except (StoreError, TypeError, ValueError) as exc:
        manifest, differences = {}, [f"unreadable manifest: {exc}"]
    if manifest is None and any(not (is_store_file(n) or is_leftover(n)) for n in entries):
        return (f"{directory} is not empty and holds no embedding store (no {MANIFEST}); pass a new or empty "
                "--output directory.")
    if differences and not overwrite:
        return (f"{directory} holds embeddings of another run ({'; '.join(differences)}; this run vs the stored "
                "one). Pass a new --output directory, or --overwrite to replace them.")
    for name in entries:
        if is_leftover(name) or ((overwrite or manifest is None) and is_store_file(name)):
            (directory / name).unlink()
    return None


def _check_same_run(output: Path, spec: StoreSpec) -> None:
    """A non-main process: the main one prepared ``output`` for exactly this spec (else it refused)."""
    manifest = read_manifest(output)
    differences = ["no manifest"] if manifest is None else spec.differences(StoreSpec.from_manifest(manifest))
    if differences:
        raise StoreError(f"{output}: the main process did not prepare this store for this run "
                         f"({'; '.join(differences)}); see its error.")


def encode_to_store(model: Any, corpus: Corpus, output: str | os.PathLike, settings: EncodeSettings | None = None,
                    *, model_name: str = "") -> EncodeResult:
    """Encode ``corpus`` into the store ``output``, sharded over the accelerate processes, resuming a killed run.

    Args:
        model: a :class:`~hf_hybrid.modeling.DualEncoder` (anything with ``encode(texts, role=, batch_size=,
            show_progress_bar=)``, ``embedding_dim``, ``prompt(role)``, ``max_length(role)``, ``get_config_dict()``
            and weights for :func:`~hf_hybrid.evaluation.cache.model_fingerprint`), already on its device.
        corpus: the rows, in the order the store keeps.
        output: the store directory; a store of another model/settings/corpus there is refused unless
            ``settings.overwrite``.
        settings: :class:`EncodeSettings` (role, dtype, batch size, chunk size, overwrite, progress bar).
        model_name: how the model was named (recorded in the manifest, informational).

    Returns:
        this process's :class:`EncodeResult`; ``result.store`` is the finished store (on every process).

    Raises:
        StoreError: ``output`` holds another run, or is a non-empty directory that is no store.
    """
    from tqdm.auto import tqdm

    settings = settings or EncodeSettings()
    state = process_state()
    output = Path(output)
    spec = _spec(model, corpus, settings)
    problem = None
    if state.is_main_process:
        problem = prepare_store(output, spec, settings.overwrite)
        if problem is None:  # "in progress" until every chunk is there again
            write_manifest(output, spec, None, model=model_name, corpus=corpus.source)
    state.wait_for_everyone()
    if problem is not None:
        raise StoreError(problem)
    if not state.is_main_process:
        _check_same_run(output, spec)

    mine = list(range(state.process_index, spec.num_chunks, state.num_processes))
    skipped = [i for i in mine if finished_chunk(output, spec, i, corpus.ids[slice(*spec.chunk_range(i))])]
    todo = sorted(set(mine) - set(skipped))
    if skipped:
        logger.info("process %d: %d finished chunk(s) kept: %s", state.process_index, len(skipped), skipped)
    world = state.num_processes
    done_rows = sum(spec.chunk_range(i)[1] - spec.chunk_range(i)[0] for i in skipped)
    bar = tqdm(total=spec.num_rows, initial=min(spec.num_rows, done_rows * world), unit="rows", smoothing=0.1,
               desc=f"Encoding {settings.role}s ({world} process{'es' if world > 1 else ''})",
               disable=not (settings.progress and state.is_main_process))
    rows_encoded, t0 = 0, time.perf_counter()
    with bar:
        for index in todo:
            start, stop = spec.chunk_range(index)
            # other processes move at about this pace: W x this process's rows approximates the total
            emb = encode_chunk(model, corpus.texts[start:stop], settings.role, settings.batch_size,
                               on_block=lambda n: bar.update(min(n * world, bar.total - bar.n)))
            write_chunk(output, spec, index, corpus.ids[start:stop], emb)
            rows_encoded += stop - start
            logger.info("process %d: chunk %d encoded (%d rows)", state.process_index, index, stop - start)
        bar.update(bar.total - bar.n)
    seconds = time.perf_counter() - t0

    state.wait_for_everyone()
    if state.is_main_process:
        chunks = [recorded_chunk(output, spec, i) for i in range(spec.num_chunks)]
        missing = [i for i, c in enumerate(chunks) if c is None]
        if missing:
            logger.error("chunks %s were not written; the store stays incomplete", missing)
        else:
            write_manifest(output, spec, chunks, model=model_name, corpus=corpus.source)
    state.wait_for_everyone()
    return EncodeResult(store=EmbeddingStore(output), encoded=todo, skipped=skipped, rows_encoded=rows_encoded,
                        seconds=seconds)
