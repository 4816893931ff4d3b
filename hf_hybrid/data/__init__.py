"""Parallel question/passage data in canonical *group* form, and retrieval pools.

Hybrid batch sampling needs to know, for every question, which languages it exists in, so every source
(LAReQA directories, JSONL / Parquet / CSV files, ``datasets`` datasets) is normalised into one
``datasets.Dataset`` with one row per (group, language); evaluation ranks a :class:`RetrievalPool`. The
schema and the rules (splits by article, the answer sentence as positive) are in ``docs/design.md``,
section 1. This package imports nothing else of ``hf_hybrid``.

One concept per module: :mod:`.errors`, :mod:`.jsonl` (the one JSONL reader), :mod:`.csvfile` (the one CSV
reader), :mod:`.schema`, :mod:`.lareqa`, :mod:`.tables`, :mod:`.beir`, :mod:`.miracl`, :mod:`.qrels`,
:mod:`.pool`, :mod:`.retrieval_data` (queries + qrels + corpus for corpus-scale runs), :mod:`.sources` (the
``"bundled"`` alias), :mod:`.split`, :mod:`.summary`.
"""

from __future__ import annotations

from .beir import is_beir_dir, load_beir, load_beir_pool
from .errors import DataError, DataWarning
from .jsonl import iter_jsonl, read_jsonl
from .lareqa import load_lareqa, load_lareqa_pool
from .miracl import is_miracl_dir, load_miracl, miracl_languages
from .pool import RetrievalPool
from .qrels import read_qrels
from .retrieval_data import RetrievalData
from .schema import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, validate_parallel
from .sources import (
    BUNDLED,
    bundled_sample_path,
    is_bundled,
    is_lareqa_source,
    load_parallel_data,
    load_pool,
    load_retrieval_data,
    resolve_data_source,
)
from .split import filter_languages, split_by_article
from .summary import DataSummary, summarize
from .tables import load_pairs

__all__ = [
    "BUNDLED",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "DataError",
    "DataSummary",
    "DataWarning",
    "RetrievalData",
    "RetrievalPool",
    "bundled_sample_path",
    "filter_languages",
    "is_beir_dir",
    "is_miracl_dir",
    "is_bundled",
    "is_lareqa_source",
    "iter_jsonl",
    "load_beir",
    "load_beir_pool",
    "load_lareqa",
    "load_lareqa_pool",
    "load_miracl",
    "load_pairs",
    "load_parallel_data",
    "load_pool",
    "load_retrieval_data",
    "miracl_languages",
    "read_jsonl",
    "read_qrels",
    "resolve_data_source",
    "split_by_article",
    "summarize",
    "validate_parallel",
]
