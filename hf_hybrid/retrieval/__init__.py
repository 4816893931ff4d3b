"""Retrieval at corpus scale: encode a large corpus into embedding shards, index and search them.

- :mod:`~hf_hybrid.retrieval.corpus`: :class:`Corpus`, :func:`load_corpus` (JSONL(.gz), Parquet, ``datasets``);
- :mod:`~hf_hybrid.retrieval.shards`: the embedding-shard store, :class:`EmbeddingStore`;
- :mod:`~hf_hybrid.retrieval.encode_corpus`: :func:`encode_to_store`, sharded over ``accelerate`` processes and
  resumable (``python -m hf_hybrid.encode``);
- :mod:`~hf_hybrid.retrieval.index`, :mod:`~hf_hybrid.retrieval.search`, :mod:`~hf_hybrid.retrieval.run_file`:
  FAISS indexes, top-k search and TREC run files (``python -m hf_hybrid.search``).

Import rule (``docs/architecture.md``): this package may import ``data``, ``checkpoint``, ``modeling`` and
``evaluation``; only ``commands`` (and the lazy top-level API) import it. Every name is imported on first use,
so ``import hf_hybrid.retrieval`` loads neither torch nor faiss. No name here equals a module name (a submodule
import would replace it with the module): the search function is ``hf_hybrid.retrieval.search.search``.

Example::

    from hf_hybrid.retrieval import EmbeddingStore, load_corpus
    corpus = load_corpus("corpus.jsonl.gz", id_field="_id", title_field="title")
    store = EmbeddingStore("runs/emb")      # written by `python -m hf_hybrid.encode`
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Corpus": "corpus",
    "load_corpus": "corpus",
    "EmbeddingStore": "shards",
    "StoreError": "shards",
    "StoreSpec": "shards",
    "EncodeResult": "encode_corpus",
    "EncodeSettings": "encode_corpus",
    "encode_to_store": "encode_corpus",
    # the search layer (retrieval/index.py, search.py, run_file.py)
    "DenseIndex": "index",
    "IndexConfig": "index",
    "build_index": "index",
    "load_index": "index",
    "exact_search": "search",
    "index_search": "search",
    "recall_at_k": "search",
    "Run": "run_file",
    "read_trec_run": "run_file",
    "write_trec_run": "run_file",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
