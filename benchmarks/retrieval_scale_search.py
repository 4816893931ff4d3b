"""The ``search`` part of ``benchmarks/retrieval_scale.py`` (issue 15): the synthetic store, exact and index search.

What: exact search time and peak RSS for ``--queries`` queries over ``--n-docs`` passages (targets: <= 5 min,
<= 4 GB for 10k x 1M x 384 float16), then for each ``--kinds`` index (``ivf``, ``hnsw``): build time, memory,
and per search setting (``nprobe`` / ``efSearch`` sweep) QPS, recall@10 and recall@100 against the exact run,
and the QPS ratio vs exact (target: recall@10 >= 0.95 at >= 10x exact QPS). Exact search and each index run in
their own process (``spawn``), so every peak RSS is that of one measurement alone. The exact run is kept as
``<work>/exact.trec``: the ``evaluate`` part (``topk_eval.part_evaluate``) scores it against ``<work>/qrels.json``.

Data (:func:`make_store`; fixed seed, generated chunk by chunk, never whole in memory): 2,000 Gaussian cluster
centres drawn uniformly on the unit sphere (topics) and one direction per language (10 languages: the language
component real multilingual embeddings have); passage ``i`` has language ``i % 10`` (id ``<lang>-<i>``), a random
topic, and is ``normalise(centre + 0.3 * language_direction + noise)`` with noise ~ N(0, 0.6^2 / dim) per
coordinate (norm ~0.6), stored as float16 in chunks of 16,384. Cosine: same topic and language ~0.75, same topic
~0.69, other topic ~0.06. Queries: ``--queries`` distinct passages drawn at random, plus noise of norm ~0.3,
normalised (float32): near passages, with their source as the relevant passage (``qrels.json``).

Used by the driver (``python benchmarks/retrieval_scale.py --parts search``), never run on its own::

    result = part_search(args, work)        # args: the driver's argparse namespace
    print(search_markdown(result, data_settings(args)))
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


LANGS = ["ar", "de", "en", "es", "fr", "hi", "ja", "ru", "sw", "zh"]
SEARCH_SWEEP = {"ivf": ("nprobe", [8, 16, 32, 64]), "hnsw": ("ef_search", [100, 200, 400])}  # k = 100: ef >= k


def rss_mib(field: str = "VmRSS") -> float:
    """Resident set size of this process now (``VmRSS``) or at its peak (``VmHWM``), from ``/proc/self/status``."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mib() -> float:
    """Peak RSS of this process alone (``VmHWM``). Not ``getrusage``'s ``ru_maxrss``: on Linux a spawned child
    inherits there the RSS its parent had when it forked (~0.5 GB for the driver, torch imported), a floor
    that would hide the small peaks of the evaluate part."""
    return rss_mib("VmHWM")


def limit_threads(threads: int) -> None:
    """NumPy's BLAS and faiss's OpenMP threads (called first thing in every process)."""
    import faiss
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    faiss.omp_set_num_threads(threads)


# ----------------------------------------------------------------------------------------------------- data
def data_settings(args: argparse.Namespace) -> dict[str, Any]:
    """What defines the synthetic data (its fingerprint): results measured on other settings never merge."""
    return {"n_docs": args.n_docs, "dim": args.dim, "languages": len(LANGS[:args.languages]),
            "clusters": args.clusters, "queries": args.queries, "language_weight": 0.3, "noise": 0.6,
            "query_noise": 0.3, "chunk_size": 16384, "dtype": "float16", "seed": args.seed}


def data_fingerprint(s: dict[str, Any]) -> str:
    """The stores' ``corpus_fingerprint``: which data settings they (and ``exact.trec``, ``qrels.json``) are of."""
    return hashlib.sha256(json.dumps(s, sort_keys=True).encode()).hexdigest()


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def make_store(s: dict[str, Any], work: Path) -> tuple[Path, Path]:
    """The synthetic corpus store, query store and qrels (see the module docstring); reused when present."""
    from hf_hybrid.retrieval.shards import EmbeddingStore, StoreError, StoreSpec, write_chunk, write_manifest

    fingerprint = data_fingerprint(s)
    corpus_dir, query_dir = work / "corpus", work / "queries"
    try:
        if EmbeddingStore(query_dir).spec.corpus_fingerprint == fingerprint:
            return corpus_dir, query_dir
    except StoreError:
        pass
    dim, n, langs = s["dim"], s["n_docs"], LANGS[:s["languages"]]
    rng = np.random.default_rng(s["seed"])
    centres = _unit(rng.standard_normal((s["clusters"], dim)).astype(np.float32))
    lang_dirs = _unit(rng.standard_normal((len(langs), dim)).astype(np.float32))
    sources = np.sort(rng.choice(n, size=s["queries"], replace=False))
    spec = StoreSpec(dim=dim, dtype="float16", num_rows=n, chunk_size=s["chunk_size"], model_fingerprint="synthetic",
                     corpus_fingerprint=fingerprint, role="passage", prompt="", max_length=0)
    for directory in (query_dir, corpus_dir):  # an older synthetic store: its files go (queries first: the marker)
        for old in directory.glob("*") if directory.is_dir() else []:
            if old.name == "manifest.json" or old.name.startswith("chunk-"):
                old.unlink()
    chunks, picked = [], []
    for c in range(spec.num_chunks):
        lo, hi = spec.chunk_range(c)
        crng = np.random.default_rng([s["seed"], c])
        rows = np.arange(lo, hi)
        x = centres[crng.integers(0, len(centres), hi - lo)] + s["language_weight"] * lang_dirs[rows % len(langs)]
        x += crng.standard_normal((hi - lo, dim), dtype=np.float32) * (s["noise"] / dim ** 0.5)
        emb = _unit(x).astype(np.float16)
        chunks.append(write_chunk(corpus_dir, spec, c, [f"{langs[i % len(langs)]}-{i}" for i in rows], emb))
        picked.append(emb[sources[(sources >= lo) & (sources < hi)] - lo].astype(np.float32))
        print(f"\r  generating: chunk {c + 1}/{spec.num_chunks}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    write_manifest(corpus_dir, spec, chunks, model="synthetic", corpus=json.dumps(s))
    qrng = np.random.default_rng([s["seed"], 10**6])
    q = np.concatenate(picked)
    q = _unit(q + qrng.standard_normal(q.shape, dtype=np.float32) * (s["query_noise"] / dim ** 0.5))
    qids = [f"q{j}" for j in range(len(q))]
    qspec = StoreSpec(dim=dim, dtype="float32", num_rows=len(q), chunk_size=s["chunk_size"],
                      model_fingerprint="synthetic", corpus_fingerprint=fingerprint, role="query", prompt="",
                      max_length=0)
    qchunks = [write_chunk(query_dir, qspec, c, qids[lo:hi], q[lo:hi])
               for c, (lo, hi) in enumerate(map(qspec.chunk_range, range(qspec.num_chunks)))]
    qrels = {qid: {f"{langs[i % len(langs)]}-{i}": 1} for qid, i in zip(qids, sources.tolist())}
    from hf_hybrid.checkpoint.atomic import atomic_write_json

    atomic_write_json(work / "qrels.json", qrels)
    write_manifest(query_dir, qspec, qchunks, model="synthetic", corpus=json.dumps(s))  # last: marks the data done
    return corpus_dir, query_dir


# --------------------------------------------------------------------------------------------- part: search
def _exact_worker(corpus: str, queries: str, k: int, threads: int, out: str) -> dict[str, Any]:
    """In its own process: exact search, its time and this process's peak RSS; the run goes to ``out``."""
    limit_threads(threads)
    from hf_hybrid.retrieval.run_file import write_trec_run
    from hf_hybrid.retrieval.search import exact_search
    from hf_hybrid.retrieval.shards import EmbeddingStore

    start = time.perf_counter()
    run = exact_search(EmbeddingStore(corpus), EmbeddingStore(queries), k, batch_size=1024, show_progress=False)
    seconds = time.perf_counter() - start
    peak = peak_rss_mib()
    write_trec_run(run, out)
    return {"seconds": round(seconds, 1), "qps": round(len(run) / seconds, 1), "peak_rss_mib": round(peak),
            "loadavg_1": round(os.getloadavg()[0], 2)}


def _index_worker(kind: str, corpus: str, queries: str, k: int, threads: int, exact_path: str,
                  config: dict[str, Any], exact_qps: float) -> dict[str, Any]:
    """In its own process: build the index (time, memory), then search at each sweep setting (QPS, recall)."""
    limit_threads(threads)
    from hf_hybrid.retrieval.index import IndexConfig, build_index
    from hf_hybrid.retrieval.run_file import read_trec_run
    from hf_hybrid.retrieval.search import index_search, recall_at_k
    from hf_hybrid.retrieval.shards import EmbeddingStore

    before = rss_mib()
    start = time.perf_counter()
    index = build_index(EmbeddingStore(corpus), IndexConfig(kind=kind, **config), show_progress=False)
    build = time.perf_counter() - start
    out: dict[str, Any] = {"factory": index.factory, "config": index.config.get_config_dict(),
                           "build_seconds": round(build, 1), "index_rss_mib": round(rss_mib() - before),
                           "peak_rss_mib_build": round(peak_rss_mib()), "loadavg_1_build": round(os.getloadavg()[0], 2)}
    exact = read_trec_run(exact_path)
    name, values = SEARCH_SWEEP.get(kind, ("nprobe", [index.config.nprobe]))
    out["sweep"] = []
    for value in values:
        index.set_search_params(**{name: value})
        start = time.perf_counter()
        run = index_search(index, EmbeddingStore(queries), k, batch_size=1024, show_progress=False)
        seconds = time.perf_counter() - start
        qps = len(run) / seconds
        row = {name: value, "seconds": round(seconds, 2), "qps": round(qps, 1),
               "recall@10": round(recall_at_k(run, exact, 10), 4), "recall@100": round(recall_at_k(run, exact, k), 4),
               "x_exact_qps": round(qps / exact_qps, 1), "loadavg_1": round(os.getloadavg()[0], 2)}
        row["meets_target"] = row["recall@10"] >= 0.95 and row["x_exact_qps"] >= 10
        out["sweep"].append(row)
        print(f"  {kind} {name}={value}: {row}", file=sys.stderr, flush=True)
    return out


def in_process(fn: Any, *fn_args: Any) -> Any:
    """``fn(*fn_args)`` in a fresh spawned process (its own peak RSS), result returned by pickle.

    ``fn`` must be importable by name (a module-level function); the child gets this process's ``sys.path``.
    """
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, fn_args)


def part_search(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Exact search (its run kept as ``work/exact.trec``), then each index of ``args.kinds`` against it."""
    corpus, queries = make_store(data_settings(args), work)
    k = 100
    print(f"[search] exact: {args.queries} queries x {args.n_docs} passages, k={k}", file=sys.stderr, flush=True)
    exact = in_process(_exact_worker, str(corpus), str(queries), k, args.threads, str(work / "exact.trec"))
    exact["meets_target"] = exact["seconds"] <= 300 and exact["peak_rss_mib"] <= 4096
    print(f"[search] exact: {exact}", file=sys.stderr, flush=True)
    result: dict[str, Any] = {"k": k, "threads": args.threads, "exact": exact, "indexes": {}}
    for kind in args.kinds.split(","):
        print(f"[search] {kind}: building", file=sys.stderr, flush=True)
        config = {"hnsw_m": args.hnsw_m, "ef_construction": args.ef_construction} if kind == "hnsw" else {}
        result["indexes"][kind] = in_process(_index_worker, kind, str(corpus), str(queries), k, args.threads,
                                              str(work / "exact.trec"), config, exact["qps"])
    return result


def search_markdown(result: dict[str, Any], s: dict[str, Any]) -> str:
    """The search section of the results markdown, from the part's result and the data settings ``s``."""
    exact, k = result["exact"], result["k"]
    md = [f"## search ({s['queries']:,} queries x {s['n_docs']:,} passages, dim {s['dim']}, float16, k = {k}, "
          f"{result['threads']} thread(s))\n",
          f"Exact (streamed over the store's chunks, float32 GEMM + float64 rescoring of the candidates): "
          f"**{exact['seconds']} s** ({exact['qps']} QPS), peak RSS **{exact['peak_rss_mib']} MiB** "
          f"(targets <= 300 s, <= 4096 MiB: {'met' if exact['meets_target'] else 'NOT met'}; "
          f"load {exact['loadavg_1']}).\n",
          "| index | build s | index RSS MiB | build peak RSS MiB | setting | QPS | x exact QPS | recall@10 "
          "| recall@100 | target |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["indexes"].values():
        for row in r["sweep"]:
            name = "nprobe" if "nprobe" in row else "ef_search"
            md.append(f"| {r['factory']} | {r['build_seconds']} | {r['index_rss_mib']} | {r['peak_rss_mib_build']} | "
                      f"{name}={row[name]} | {row['qps']} | {row['x_exact_qps']} | {row['recall@10']} | "
                      f"{row['recall@100']} | {'met' if row['meets_target'] else '-'} |")
    md.append("\nTarget: recall@10 >= 0.95 at >= 10x the exact QPS. Recall: the share of the exact run's top-10 / "
              "top-100 doc ids the index returns, averaged over queries. Index RSS: the growth of the worker's RSS "
              "during the build (vectors, lists or graph, and what the allocator kept of the training sample). "
              "Caveat: the topics of this synthetic data are well separated (cosine ~0.7 inside a topic, ~0.06 "
              "across), so a query's neighbours sit in the few IVF lists of its topic and IVF recall is ~1 already "
              "at small nprobe; real embeddings are less clustered, so measure recall on your own store "
              "(`python -m hf_hybrid.search ... --report_recall`).")
    return "\n".join(md)
