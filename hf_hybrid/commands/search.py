"""``python -m hf_hybrid.search`` / ``hf-hybrid search``: top-k search of a query store, written as a TREC run.

The corpus side is either a saved index (``--index DIR``, from :meth:`hf_hybrid.retrieval.DenseIndex.save`) or an
embedding store (``--embeddings STORE``, from ``python -m hf_hybrid.encode``): with the default ``--index_kind flat``
that store is searched exactly, streaming over its chunks (:func:`hf_hybrid.retrieval.search.exact_search`), with
another kind an index is built first (and kept with ``--save_index DIR``). The queries are an embedding store
encoded with ``--role query`` by the same model (checked through the stores' model fingerprints).
``--report_recall`` also runs the exact search and prints recall@10 / recall@k of the index against it and the
queries per second of both. Flags are two dataclasses parsed by ``transformers.HfArgumentParser`` (as
``train.py`` does): :class:`SearchArguments` and :class:`~hf_hybrid.retrieval.index.IndexConfig`.

Examples::

    python -m hf_hybrid.search --embeddings runs/emb --queries runs/q --k 100 --output runs/exact.trec
    python -m hf_hybrid.search --embeddings runs/emb --queries runs/q --index_kind hnsw --save_index runs/hnsw \\
        --output runs/hnsw.trec --report_recall
    python -m hf_hybrid.search --index runs/hnsw --ef_search 256 --queries runs/q --output runs/hnsw256.trec
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from transformers import HfArgumentParser

from ..retrieval.index import IndexConfig


@dataclass
class SearchArguments:
    """What to search, with what, and where the run goes."""

    queries: str = field(metadata={"help": "the query embedding store (python -m hf_hybrid.encode --role query)"})
    output: str = field(metadata={"help": "the TREC run file to write (qid Q0 docid rank score tag)"})
    index: str | None = field(default=None, metadata={"help": "a saved index directory (index.faiss + index.json)"})
    embeddings: str | None = field(default=None, metadata={
        "help": "the corpus embedding store: searched exactly (--index_kind flat) or indexed first"})
    k: int = field(default=100, metadata={"help": "candidates per query"})
    batch_size: int = field(default=1024, metadata={"help": "queries per search batch"})
    save_index: str | None = field(default=None, metadata={"help": "save the index built from --embeddings here"})
    report_recall: bool = field(default=False, metadata={
        "help": "also search exactly (needs --embeddings) and print recall@10 / recall@k and QPS of both"})
    report_json: str | None = field(default=None, metadata={"help": "write the timing / recall report here"})
    run_name: str = field(default="hf-hybrid", metadata={"help": "the run tag (sixth TREC field)"})
    threads: int | None = field(default=None, metadata={"help": "BLAS and faiss threads (None: their default)"})
    progress: bool = field(default=True, metadata={"help": "show progress bars"})

    def __post_init__(self) -> None:
        if (self.index is None) == (self.embeddings is None) and not (self.index and self.report_recall):
            raise ValueError("pass exactly one of --index DIR and --embeddings STORE (both only with "
                             "--report_recall: the store is then the exact reference).")
        for name in ("k", "batch_size", "threads"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"--{name} must be positive, got {value}")


def parse_args(argv: Sequence[str] | None = None) -> tuple[SearchArguments, IndexConfig, set[str]]:
    """The two dataclasses and the names of the flags given explicitly (they override a saved index's)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # allow_abbrev=False: the explicit flags are read from argv below, so `--ef 256` must not pass as --ef_search
    parser = HfArgumentParser((SearchArguments, IndexConfig), prog="python -m hf_hybrid.search", allow_abbrev=False)
    try:
        args, config = parser.parse_args_into_dataclasses(args=argv)
    except ValueError as exc:  # the dataclasses' own checks
        raise SystemExit(f"error: {exc}") from None
    given = {a[2:].split("=")[0] for a in argv if a.startswith("--")}
    return args, config, given


def _check_models(queries: Any, fingerprint: str | None, corpus: str) -> None:
    if queries.role != "query":
        print(f"warning: {queries.path} holds role {queries.role!r} embeddings, not 'query' (prompts differ for "
              "asymmetric models).", file=sys.stderr)
    mine = queries.spec.model_fingerprint
    if fingerprint and mine and fingerprint != mine:
        raise ValueError(f"{queries.path} was encoded by another model than {corpus} (model fingerprints "
                         f"{mine[:12]}... vs {fingerprint[:12]}...); encode both with the same --model.")


def _timed(fn: Any, n_queries: int) -> tuple[Any, dict[str, float]]:
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    return out, {"seconds": round(seconds, 3), "qps": round(n_queries / seconds, 1) if seconds > 0 else None}


def run(args: SearchArguments, config: IndexConfig, given: set[str] = frozenset()) -> dict[str, Any]:
    """Search, write the run, return the report (``--report_recall`` adds the exact search and recall)."""
    from ..retrieval.index import build_index, load_index
    from ..retrieval.run_file import write_trec_run
    from ..retrieval.search import exact_search, index_search, recall_at_k
    from ..retrieval.shards import EmbeddingStore

    queries = EmbeddingStore(args.queries)
    store = EmbeddingStore(args.embeddings) if args.embeddings else None
    n_q = queries.num_rows
    opts = {"batch_size": args.batch_size, "show_progress": args.progress, "name": args.run_name}
    report: dict[str, Any] = {"queries": n_q, "k": args.k}
    if args.index:
        index = load_index(args.index, use_gpu=config.use_gpu if "use_gpu" in given else None)
        index.set_search_params(nprobe=config.nprobe if "nprobe" in given else None,
                                ef_search=config.ef_search if "ef_search" in given else None)
        _check_models(queries, index.meta.get("model_fingerprint"), args.index)
    else:
        _check_models(queries, store.spec.model_fingerprint, args.embeddings)
        index = None
        if config.is_exact and args.save_index:
            raise ValueError("--save_index needs an approximate --index_kind (ivf, hnsw, ivfpq, pq or a factory "
                             "string): exact search streams over the store and builds no index.")
        if not config.is_exact:
            index, report["build"] = _timed(lambda: build_index(store, config, show_progress=args.progress), 0)
            del report["build"]["qps"]
            if args.save_index:
                index.save(args.save_index)
    if index is None:
        result, report["exact"] = _timed(lambda: exact_search(store, queries, args.k, **opts), n_q)
        exact = result
    else:
        report["index"] = {"factory": index.factory, "rows": index.num_rows, **index.config.get_config_dict()}
        result, report["search"] = _timed(lambda: index_search(index, queries, args.k, **opts), n_q)
        exact = None
        if args.report_recall:
            if store is None:
                raise ValueError("--report_recall needs --embeddings STORE (the exact reference) next to --index.")
            _check_models(queries, store.spec.model_fingerprint, args.embeddings)
            exact, report["exact"] = _timed(lambda: exact_search(store, queries, args.k, **opts), n_q)
    if args.report_recall and index is None:
        print("note: --report_recall with exact search compares exact search with itself (recall 1.0); choose an "
              "--index_kind to measure an approximate index.", file=sys.stderr)
    if args.report_recall and exact is not None:
        for cut in sorted({min(10, args.k), args.k}):
            report[f"recall@{cut}"] = round(recall_at_k(result, exact, cut), 4)
        if "search" in report and report["search"]["qps"] and report["exact"]["qps"]:
            report["speedup_vs_exact"] = round(report["search"]["qps"] / report["exact"]["qps"], 2)
    write_trec_run(result, args.output)
    report["output"] = args.output
    if args.report_json:
        from ..checkpoint.atomic import atomic_write_json

        atomic_write_json(args.report_json, report)
    return report


def _thread_limit(threads: int | None) -> Any:
    """A context limiting faiss's OpenMP and NumPy's BLAS threads (BLAS through threadpoolctl when installed)."""
    import contextlib

    if threads is None:
        return contextlib.nullcontext()
    import faiss

    faiss.omp_set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("warning: threadpoolctl is not installed; --threads limits faiss only (set OMP_NUM_THREADS for "
              "NumPy's BLAS).", file=sys.stderr)
        return contextlib.nullcontext()
    return threadpool_limits(threads)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, run, print the report; a data, store or index problem ends with one ``error: ...`` line and status 2
    (``--debug``: the traceback)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    args, config, given = parse_args([a for a in argv if a != "--debug"])
    try:
        with _thread_limit(args.threads):
            report = run(args, config, given)
    except (ValueError, OSError) as exc:  # DataError, StoreError are ValueErrors
        if debug:
            raise
        print(f"error: {exc}\n(run with --debug to see where it came from)", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
