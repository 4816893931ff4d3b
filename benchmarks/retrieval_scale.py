"""Retrieval at corpus scale (issue 15): encoding, exact and approximate search, and evaluation of the run.

Run: ``python benchmarks/retrieval_scale.py [--parts search,encode,evaluate] [--n-docs 1000000] [--threads 2]``
(``--quick``: 20k passages, 1k queries, 2k encoded rows, well under a minute; its results go beside its data in
``benchmarks/.cache/retrieval_scale/quick``). Results: ``benchmarks/results/retrieval_scale.{json,md}`` (``--name``
changes the file name; ``--render-only`` rewrites the markdown from the JSON). The synthetic stores, the exact
run and the encode inputs are kept in ``benchmarks/.cache/retrieval_scale`` and reused by the next run.

This file only dispatches and renders. Parts (``--parts``, any subset, in this order; each one a section):

* ``search`` (``retrieval_scale_search.py``): the synthetic 1M x 384 float16 store in 10 languages; exact search
  time and peak RSS for 10k queries (targets <= 5 min, <= 4 GB), then IVF and HNSW: build time and memory, QPS and
  recall@10 / @100 vs exact per ``nprobe`` / ``efSearch`` (target recall@10 >= 0.95 at >= 10x exact QPS). Keeps
  the exact run as ``exact.trec`` with its ``qrels.json`` (~20 min on the 2-core machine).
* ``encode`` (``retrieval_scale_encode.py``): rows/s of ``python -m hf_hybrid.encode`` with 1 and 2 CPU processes
  on tiny encoders, the 2/1 ratio, and that both give the same embeddings (~2 min).
* ``evaluate`` (``topk_eval.py`` ``part_evaluate``): the exact run read and scored with ``compute_topk_metrics``
  against its qrels, each step timed, then a synthetic run of the same size (~15 s; needs ``search`` first).

Merging: a results file keeps one entry per part. Running some parts replaces those entries and keeps the others,
provided they were measured on the same data settings (the ``data`` section; otherwise the run stops before
measuring and says what differs). Each part records its command, settings, machine and load (``measured``);
the results are written after every part, so a failure keeps what was measured. The markdown opens with the
issue's targets against the measured figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (RESULTS, ROOT, machine_info, machine_markdown, print_header, repo_relative,  # noqa: E402
                     write_results)
from retrieval_scale_encode import ENCODERS, encode_markdown, part_encode  # noqa: E402
from retrieval_scale_search import LANGS, data_settings, limit_threads, part_search, search_markdown  # noqa: E402
from topk_eval import evaluate_markdown, part_evaluate  # noqa: E402

WORK = ROOT / "benchmarks" / ".cache" / "retrieval_scale"
#: part -> (measure(args, work) -> result, markdown(result, data settings) -> section); the order of the file
PARTS: dict[str, tuple[Callable[..., dict[str, Any]], Callable[..., str]]] = {
    "search": (part_search, search_markdown), "encode": (part_encode, encode_markdown),
    "evaluate": (part_evaluate, evaluate_markdown)}
#: the issue's full size: the targets are stated for it
FULL_SIZE = {"n_docs": 1_000_000, "queries": 10_000, "dim": 384}


def _met(ok: bool) -> str:
    return "met" if ok else "**NOT met**"


def _index_summary(kind: str, r: dict[str, Any]) -> list[str]:
    """The target row of one index: its fastest setting that meets the target, else its best-recall one."""
    name = "nprobe" if kind == "ivf" else "ef_search"
    meeting = [row for row in r["sweep"] if row["meets_target"]]
    row = max(meeting, key=lambda x: x["qps"]) if meeting else max(r["sweep"], key=lambda x: x["recall@10"])
    return [f"{r['factory']}: recall@10 at QPS vs exact", ">= 0.95 at >= 10x",
            f"{row['recall@10']} at {row['x_exact_qps']}x ({row['qps']} QPS, {name}={row[name]}); build "
            f"{r['build_seconds']} s, index {r['index_rss_mib']} MiB", _met(bool(meeting))]


def summary_markdown(data: dict[str, Any]) -> str:
    """The issue's figures and targets against what the parts present measured."""
    parts, rows = data["parts"], []
    if "encode" in parts:
        for enc in parts["encode"]["encoders"].values():
            one, two = enc["runs"]
            rows.append([f"encode, {enc['label']}: 1 -> 2 processes", "-",
                         f"{one['rows_per_s']:,} -> {two['rows_per_s']:,} rows/s (**{enc['ratio_2_to_1']}x**); "
                         f"wall {one['wall_seconds']} -> {two['wall_seconds']} s with start-up", "-"])
    if "search" in parts:
        exact = parts["search"]["exact"]
        rows.append([f"exact search, {data['data']['queries']:,} queries", "<= 300 s, <= 4096 MiB",
                     f"{exact['seconds']} s ({exact['qps']} QPS), peak RSS {exact['peak_rss_mib']} MiB",
                     _met(exact["meets_target"])])
        rows += [_index_summary(kind, r) for kind, r in parts["search"]["indexes"].items()]
    if "evaluate" in parts:
        e = parts["evaluate"]["exact_run"]
        rows.append(["evaluation of the exact run (`compute_topk_metrics`)", "-",
                     f"{e['metrics']['seconds']} s ({e['total_s']} s with reading the run); peak RSS "
                     f"{e['peak_rss_mib']} MiB", "-"])
    d = data["data"]
    size = (f"{d['queries']:,} queries x {d['n_docs']:,} passages x {d['dim']} float16, {d['languages']} languages"
            + ("" if all(d[k] == v for k, v in FULL_SIZE.items()) else
               " (**not the issue's size**: the targets are for 10,000 x 1,000,000 x 384)"))
    return "\n".join([f"## Summary: issue 15's figures and targets ({size})\n", "| figure | target | measured | |",
                      "|---|---|---|---|"] + ["| " + " | ".join(r) + " |" for r in rows])


def render(data: dict[str, Any]) -> str:
    """The whole results markdown from the results JSON (``--render-only`` rewrites it after a format change)."""
    parts = [p for p in PARTS if p in data["parts"]]
    sections = [summary_markdown(data)]
    for part in parts:
        m = data["parts"][part]["measured"]
        sections.append(PARTS[part][1](data["parts"][part], data["data"]) + f"\n\nMeasured by `{m['command']}`.")
    latest = max((data["parts"][p]["measured"] for p in parts), key=lambda m: m["machine"]["time_utc"])
    runs = "\n".join(f"- {p}: git {m['machine'].get('git_commit')}, {m['machine']['time_utc']}, load (1/5/15 min) "
                     f"{m['machine']['loadavg_1_5_15']} at the start, {m['loadavg_1_5_15_end']} at the end"
                     for p in parts for m in [data["parts"][p]["measured"]])
    return (f"# retrieval_scale\n\nData: synthetic clustered embeddings (`benchmarks/retrieval_scale_search.py`); "
            f"settings: {json.dumps(data['data'])}.\n\n" + "\n\n".join(sections)
            + f"\n\n## Machine\n\n{machine_markdown(latest['machine'])}\n\nPer part:\n\n{runs}\n")


def load_previous(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """The parts already in ``path`` (measured on ``data``'s settings), to keep beside the ones measured now."""
    if not path.is_file():
        return {}
    old = json.loads(path.read_text(encoding="utf-8"))
    if "data" not in old:
        sys.exit(f"error: {path} is in an older format (no 'data' section); delete it, or pass --name OTHER.")
    diff = {k: (old["data"].get(k), v) for k, v in data.items() if old["data"].get(k) != v}
    if diff:
        shown = ", ".join(f"{k}: {a} -> {b}" for k, (a, b) in diff.items())
        sys.exit(f"error: {path} holds results for other data settings ({shown}); rerun every part with these "
                 "settings into another file (--name OTHER), or delete it.")
    return old["parts"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--parts", default=",".join(PARTS), help="comma-separated, any of: " + ",".join(PARTS))
    p.add_argument("--n-docs", type=int, default=1_000_000)
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--languages", type=int, default=len(LANGS))
    p.add_argument("--clusters", type=int, default=2000)
    p.add_argument("--queries", type=int, default=10_000)
    p.add_argument("--kinds", default="ivf,hnsw", help="search: approximate indexes to measure against exact")
    p.add_argument("--hnsw-m", type=int, default=32)
    p.add_argument("--ef-construction", type=int, default=80)
    p.add_argument("--encode-rows", type=int, default=20_000, help="encode: synthetic passages per run")
    p.add_argument("--encoders", default=",".join(ENCODERS), help="encode: comma-separated, of " + ",".join(ENCODERS))
    p.add_argument("--encode-repeats", type=int, default=2, help="encode: alternating runs per process count")
    p.add_argument("--threads", type=int, default=2,
                   help="search/evaluate: BLAS / faiss threads (the targets are for 2 cores); encode: 1 per process")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="20k passages, 40 clusters, 1k queries, 2k rows, 1 encoder")
    p.add_argument("--work", default=str(WORK), help="where the synthetic stores, runs and encode inputs are kept")
    p.add_argument("--name", default="retrieval_scale", help="results file name (benchmarks/results/<name>.*)")
    p.add_argument("--render-only", action="store_true", help="rewrite the markdown from the results JSON")
    args = p.parse_args()
    if args.render_only:
        data = json.loads((RESULTS / f"{args.name}.json").read_text(encoding="utf-8"))
        print("wrote " + ", ".join(repo_relative(x) for x in write_results(args.name, data, render(data))))
        return
    if args.quick:  # its own work directory, results beside the data (not benchmarks/results)
        args.n_docs, args.clusters, args.queries = 20_000, 40, 1_000
        args.encode_rows, args.encoders, args.encode_repeats = 2_000, "test", 1
        args.work = str(Path(args.work) / "quick") if args.work == str(WORK) else args.work
    parts = args.parts.split(",")
    if set(parts) - set(PARTS):
        p.error(f"--parts: unknown {sorted(set(parts) - set(PARTS))}; choose from {list(PARTS)}")
    if set(args.encoders.split(",")) - set(ENCODERS):
        p.error(f"--encoders: unknown {sorted(set(args.encoders.split(',')) - set(ENCODERS))}; choose from "
                f"{list(ENCODERS)}")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    out_dir = work if args.quick else RESULTS
    limit_threads(args.threads)
    settings = {k: getattr(args, k) for k in ("kinds", "hnsw_m", "ef_construction", "encode_rows", "encoders",
                                              "encode_repeats", "threads", "quick")}
    data: dict[str, Any] = {"benchmark": "retrieval_scale", "data": data_settings(args), "work": repo_relative(work),
                            "parts": {}}
    previous = load_previous(out_dir / f"{args.name}.json", data["data"])
    command = "python benchmarks/retrieval_scale.py " + " ".join(sys.argv[1:])
    print_header("retrieval at corpus scale", {**data["data"], **settings, "parts": parts}, machine_info())
    for part in [x for x in PARTS if x in parts]:
        machine, t0 = machine_info(), time.perf_counter()
        try:
            result = PARTS[part][0](args, work)
        except (FileNotFoundError, ValueError) as exc:  # a missing input or a bad setting: one clear line
            sys.exit(f"error: [{part}] {exc}")
        result["measured"] = {"command": command, "settings": settings, "machine": machine,
                              "seconds": round(time.perf_counter() - t0, 1),
                              "loadavg_1_5_15_end": [round(x, 2) for x in os.getloadavg()]}
        previous[part] = result
        data["parts"] = {x: previous[x] for x in PARTS if x in previous}
        paths = write_results(args.name, data, render(data), out_dir=out_dir)
        print(f"[{part}] done in {result['measured']['seconds']} s; wrote "
              + ", ".join(repo_relative(x) for x in paths), file=sys.stderr, flush=True)
    print(render(data))


if __name__ == "__main__":
    main()
