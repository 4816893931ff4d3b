"""Time of the top-k evaluation (:func:`hf_hybrid.evaluation.topk.compute_topk_metrics`) on a corpus-scale run.

Run: ``python benchmarks/topk_eval.py [--queries 10000] [--k 100] [--docs 1000000] [--langs 10] [--no-save]``

Data (synthetic, seeded): ``--docs`` document ids ``d<i>`` in ``--langs`` languages (``i mod langs``), queries
``q<j>`` likewise; each query has 1-6 relevant documents, about half of them inside its top-k list (at
random ranks), the rest not retrieved; the lists hold ``k`` distinct random documents with decreasing
scores. Timed: the metrics from the in-memory ``Run``-like object and from the ``{qid: {docid: score}}``
dict, and (when ``hf_hybrid.retrieval.run_file`` exists) writing and reading the TREC run file.

``benchmarks/retrieval_scale.py --parts evaluate`` runs :func:`part_evaluate` (rendered by
:func:`evaluate_markdown`): the search part's exact run (``<work>/exact.trec``, 10k queries x top-100 over 1M
passages) read with ``read_trec_run`` and scored with ``compute_topk_metrics`` against its ``qrels.json``
(:func:`score_run_file`: each step timed, in its own process for its own peak RSS), then :func:`evaluate_part`
on a synthetic run of the same size (more relevant documents per query, half of them not retrieved).
Its results go to ``benchmarks/results/retrieval_scale.{json,md}``; this script on its own writes
``benchmarks/results/topk_eval.{json,md}`` (``--no-save``: print only).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (machine_info, machine_markdown, peak_rss_mib, print_header, repo_relative,  # noqa: E402
                     write_results)

from hf_hybrid.evaluation.topk import compute_topk_metrics  # noqa: E402


@dataclass
class SyntheticRun:
    """A ``Run``-shaped object (query_ids, doc_ids, scores) plus its qrels and languages."""

    query_ids: list[str]
    doc_ids: list[list[str]]
    scores: list[list[float]]
    qrels: dict[str, dict[str, int]]
    doc_langs: dict[str, str]
    query_langs: dict[str, str]
    name: str = "synthetic"


def synthetic_run(num_queries: int = 10_000, k: int = 100, num_docs: int = 1_000_000, num_langs: int = 10,
                  seed: int = 0) -> SyntheticRun:
    """Distinct random documents per list (increasing offsets mod ``num_docs``), relevant ones planted."""
    if k > num_docs // 2:
        raise ValueError(f"k={k} is too deep for {num_docs} documents in this generator.")
    rng = np.random.default_rng(seed)
    step = max(1, num_docs // (k + 1))
    offsets = np.cumsum(rng.integers(1, step, (num_queries, k)), axis=1)
    docs = (rng.integers(0, num_docs, (num_queries, 1)) + offsets) % num_docs
    docs = rng.permuted(docs, axis=1)
    scores = -np.sort(-rng.random((num_queries, k)), axis=1)
    langs = [f"l{x}" for x in range(num_langs)]
    qids = [f"q{j}" for j in range(num_queries)]
    n_rel = rng.integers(1, 7, num_queries)
    qrels: dict[str, dict[str, int]] = {}
    for j, q in enumerate(qids):
        inside = rng.choice(k, size=int(n_rel[j] + 1) // 2, replace=False)
        rel = {f"d{docs[j, p]}": 1 for p in inside}
        row = set(docs[j].tolist())
        while len(rel) < n_rel[j]:
            d = int(rng.integers(0, num_docs))
            if d not in row:
                rel[f"d{d}"] = int(rng.integers(1, 3))
        qrels[q] = rel
    return SyntheticRun(
        query_ids=qids, doc_ids=[[f"d{i}" for i in row] for row in docs.tolist()], scores=scores.tolist(),
        qrels=qrels, doc_langs={f"d{i}": langs[i % num_langs] for i in range(num_docs)},
        query_langs={q: langs[j % num_langs] for j, q in enumerate(qids)})


def time_topk_evaluation(run: Any, qrels: dict, doc_langs: dict | None, query_langs: dict | None,
                         k: int | None = None, repeats: int = 1) -> dict[str, Any]:
    """Best-of-``repeats`` wall seconds of ``compute_topk_metrics`` on ``run`` (a Run or the dict form)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = compute_topk_metrics(run, qrels, doc_langs=doc_langs, query_langs=query_langs, k=k)
        best = min(best, time.perf_counter() - t0)
    n = out["run"]["num_queries_in_run"]
    return {"seconds": round(best, 3), "queries_per_second": round(n / best, 1), "pool": out["pool"],
            "mono_map": out["mono"]["map"], "cross_map": out["cross"]["map"], "num_queries": out["num_queries"]}


def evaluate_part(num_queries: int = 10_000, k: int = 100, num_docs: int = 1_000_000, num_langs: int = 10,
                  seed: int = 0, with_file: bool = True) -> dict[str, Any]:
    """The ``evaluate`` part of the retrieval-scale benchmark: build, time (object, dict, TREC file)."""
    t0 = time.perf_counter()
    data = synthetic_run(num_queries, k, num_docs, num_langs, seed)
    figures: dict[str, Any] = {"build_s": round(time.perf_counter() - t0, 2)}
    figures["run_object"] = time_topk_evaluation(data, data.qrels, data.doc_langs, data.query_langs, k)
    as_dict = {q: dict(zip(d, s)) for q, d, s in zip(data.query_ids, data.doc_ids, data.scores)}
    figures["run_dict"] = time_topk_evaluation(as_dict, data.qrels, data.doc_langs, data.query_langs, k)
    if with_file:
        try:
            from hf_hybrid.retrieval.run_file import Run, read_trec_run, write_trec_run
        except ImportError:
            figures["trec_file"] = "hf_hybrid.retrieval.run_file not available"
        else:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "run.trec"
                t0 = time.perf_counter()
                write_trec_run(Run(data.query_ids, data.doc_ids, data.scores), path)
                t1 = time.perf_counter()
                back = read_trec_run(path)
                t2 = time.perf_counter()
                figures["trec_file"] = {"write_s": round(t1 - t0, 2), "read_s": round(t2 - t1, 2),
                                        "mib": round(path.stat().st_size / 2**20, 1)}
                figures["from_file"] = time_topk_evaluation(back, data.qrels, data.doc_langs, data.query_langs, k)
    figures["peak_rss_mib"] = round(peak_rss_mib(), 1)
    return figures


# ----------------------------------------------------------------- the evaluate part of retrieval_scale.py
def score_run_file(run_path: str, qrels_path: str, k: int, threads: int) -> dict[str, Any]:
    """Read a TREC run and a ``{qid: {docid: rel}}`` JSON, score with ``compute_topk_metrics``; each step timed.

    Languages come from the ids (``<lang>-<i>``, ``retrieval_scale_search.make_store``): a document's is its
    prefix, a query's that of its relevant passage. Run in its own process (``threads``: NumPy's threads).
    """
    from retrieval_scale_search import limit_threads, peak_rss_mib, rss_mib

    from hf_hybrid.retrieval.run_file import read_trec_run

    limit_threads(threads)
    rss_before = rss_mib()
    t0 = time.perf_counter()
    run = read_trec_run(run_path)
    t1 = time.perf_counter()
    qrels = json.loads(Path(qrels_path).read_text(encoding="utf-8"))
    t2 = time.perf_counter()
    doc_langs = {d: d.split("-", 1)[0] for d in set(chain.from_iterable(run.doc_ids))}
    query_langs = {q: next(iter(rel)).split("-", 1)[0] for q, rel in qrels.items()}
    t3 = time.perf_counter()
    metrics = time_topk_evaluation(run, qrels, doc_langs, query_langs, k)
    return {"run_file": repo_relative(run_path), "run_mib": round(Path(run_path).stat().st_size / 2**20, 1),
            "queries": len(run), "k": k, "distinct_docs": len(doc_langs), "read_run_s": round(t1 - t0, 2),
            "read_qrels_s": round(t2 - t1, 2), "languages_s": round(t3 - t2, 2), "metrics": metrics,
            "total_s": round(t3 - t0 + metrics["seconds"], 2), "rss_before_mib": round(rss_before),
            "peak_rss_mib": round(peak_rss_mib())}


def _synthetic_worker(queries: int, k: int, docs: int, langs: int, seed: int, threads: int) -> dict[str, Any]:
    """:func:`evaluate_part` in its own process, with the peak RSS of that process alone."""
    from retrieval_scale_search import limit_threads, peak_rss_mib

    limit_threads(threads)
    return {**evaluate_part(queries, k, docs, langs, seed), "peak_rss_mib": round(peak_rss_mib())}


def part_evaluate(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """The search part's exact run scored (:func:`score_run_file`), then a synthetic run of its size."""
    from retrieval_scale_search import data_fingerprint, data_settings, in_process

    from hf_hybrid.retrieval.shards import EmbeddingStore, StoreError

    run_path, qrels_path = work / "exact.trec", work / "qrels.json"
    try:
        fingerprint = EmbeddingStore(work / "queries").spec.corpus_fingerprint
    except StoreError:
        fingerprint = None
    stale = (fingerprint != data_fingerprint(data_settings(args)) or not run_path.is_file() or not qrels_path.is_file()
             or run_path.stat().st_mtime < (work / "queries" / "manifest.json").stat().st_mtime)
    if stale:
        raise FileNotFoundError(f"the evaluate part scores {run_path} against {qrels_path}, which the search part "
                                f"writes for these data settings (missing, or older than the stores in {work}); "
                                f"run `--parts search,evaluate` first.")
    k = 100
    print(f"[evaluate] {repo_relative(run_path)}", file=sys.stderr, flush=True)
    exact = in_process(score_run_file, str(run_path), str(qrels_path), k, args.threads)
    print(f"[evaluate] exact run: {exact}", file=sys.stderr, flush=True)
    synthetic = in_process(_synthetic_worker, args.queries, k, args.n_docs, args.languages, args.seed, args.threads)
    return {"threads": args.threads, "exact_run": exact, "synthetic": synthetic}


def evaluate_markdown(result: dict[str, Any], s: dict[str, Any]) -> str:
    """The evaluate section of ``retrieval_scale.md`` from :func:`part_evaluate`'s result (``s``: data settings)."""
    e, m = result["exact_run"], result["exact_run"]["metrics"]
    pool = m["pool"]
    md = [f"## evaluate (the exact run: {e['queries']:,} queries x top-{e['k']}, `compute_topk_metrics`)\n",
          f"`{e['run_file']}` ({e['run_mib']} MiB, {e['distinct_docs']:,} distinct passages) scored against "
          f"`qrels.json` (one relevant passage per query: its source), languages from the ids "
          f"({s['languages']} x {s['languages']} language-pair cells), {result['threads']} thread(s), own process:\n",
          "| step | s |", "|---|---:|",
          f"| read the TREC run (`read_trec_run`) | {e['read_run_s']} |",
          f"| read `qrels.json` | {e['read_qrels_s']} |", f"| languages of queries and passages | {e['languages_s']} |",
          f"| `compute_topk_metrics` (pool, language-pair cells, MaxRD, top-10 shares) | **{m['seconds']}** "
          f"({m['queries_per_second']:,} queries/s) |", f"| **total** | **{e['total_s']}** |",
          f"\nPeak RSS {e['peak_rss_mib']} MiB ({e['rss_before_mib']} MiB of it before reading: the interpreter and "
          f"imports). Metrics of the exact run (a query's relevant passage is the one it "
          f"was drawn from, so these check the search, not a model): recall@1 {pool['recall@1']:.4f}, recall@10 "
          f"{pool['recall@10']:.4f}, recall@100 {pool['recall@100']:.4f}, MRR@10 {pool['mrr@10']:.4f}, "
          f"mAP {pool['map']:.4f}.\n"]
    syn = result["synthetic"]
    md += ["Synthetic run of the same size (`benchmarks/topk_eval.py`: 1-6 relevant passages per query, about half "
           "of them in the list; random ids, so the language cells are fuller), own process:\n",
           "| input | wall s | queries/s |", "|---|---:|---:|"]
    md += [f"| {name} | {syn[name]['seconds']} | {syn[name]['queries_per_second']:,} |"
           for name in ("run_object", "run_dict", "from_file") if isinstance(syn.get(name), dict)]
    trec = syn.get("trec_file")
    trec = (f"writing it as a TREC file {trec['write_s']} s, reading it back {trec['read_s']} s ({trec['mib']} MiB)"
            if isinstance(trec, dict) else str(trec))
    md.append(f"\nBuilding the synthetic data {syn['build_s']} s; {trec}; peak RSS {syn['peak_rss_mib']} MiB (the "
              "data included).")
    return "\n".join(md)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=10_000)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--langs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-save", action="store_true", help="print only; do not write benchmarks/results/topk_eval.*")
    args = ap.parse_args()
    settings = {"queries": args.queries, "k": args.k, "docs": args.docs, "languages": args.langs, "seed": args.seed}
    machine = machine_info()
    print_header("topk_eval: metrics from a top-k run (no score matrix)", settings, machine)
    figures = evaluate_part(args.queries, args.k, args.docs, args.langs, args.seed)
    for key, value in figures.items():
        print(f"{key}: {value}")
    if not args.no_save:
        rows = "".join(f"| {name} | {figures[name]['seconds']} | {figures[name]['queries_per_second']} |\n"
                       for name in ("run_object", "run_dict", "from_file") if isinstance(figures.get(name), dict))
        md = (f"# topk_eval\n\n{args.queries} queries x top-{args.k} over {args.docs} doc ids, {args.langs} languages: "
              f"pool + {args.langs ** 2} cells + MaxRD@k + top-10 shares.\n\n| input | wall s | queries/s |\n"
              f"|---|---:|---:|\n{rows}\nTREC file: {figures.get('trec_file')}. Peak RSS {figures['peak_rss_mib']} MiB "
              f"(the synthetic data included).\n\n## Machine\n\n{machine_markdown(machine)}\n")
        paths = write_results("topk_eval", {"settings": settings, "machine": machine, "figures": figures}, md)
        print("wrote " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
