"""Encoding throughput for evaluation: ``DualEncoder.encode_queries/encode_passages`` vs
``SentenceTransformer.encode`` on the same model, texts, prompts, max length and batch size.

Run (from the repository root; needs the converted e5-small, see benchmarks/README.md)::

    python benchmarks/encode_throughput.py --model benchmarks/.cache/e5-small

Texts: the first ``--n-texts`` questions and the first ``--n-texts`` answer-pool sentences of XQuAD-R (all
languages in file order, the bundled sample when ../shared/data is absent), i.e. what an evaluation
encodes. Queries get ``query: `` and passages ``passage: `` in both libraries (ST through ``prompt=``).
Both models live in this process, the runs alternate (hf_hybrid, ST, ST, hf_hybrid, ...) so load from
other processes hits both alike, and the embeddings are checked to agree (max |difference|).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (DEFAULT_MODEL, machine_info, machine_markdown, print_header, quiet_env,  # noqa: E402
                     repo_relative, require_data, require_model, write_results)

quiet_env()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(DEFAULT_MODEL))
    p.add_argument("--data", default=None, help="XQuAD-R directory (default ../shared/data/xquad-r, else the bundled sample)")
    p.add_argument("--n-texts", type=int, default=1000, help="queries and passages each")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--name", default="encode_throughput")
    a = p.parse_args()
    require_model(a.model)

    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    from hf_hybrid.data import bundled_sample_path, load_lareqa_pool
    from hf_hybrid.modeling import DualEncoder

    torch.set_num_threads(a.threads)
    path = require_data("xquad-r", a.data)
    source = str(path) if path is not None else str(bundled_sample_path())
    pool = load_lareqa_pool(source)
    queries = list(pool.query_texts[: a.n_texts])
    passages = list(pool.cand_texts[: a.n_texts])
    settings = {"model": Path(a.model).resolve().name, "data": repo_relative(source), "queries": len(queries),
                "passages": len(passages), "batch_size": a.batch_size, "max_length": a.max_length,
                "precision": "fp32", "torch_threads": a.threads, "repeats": a.repeats}
    machine = machine_info()
    print_header("encoding throughput: DualEncoder.encode vs SentenceTransformer.encode (CPU)", settings, machine)

    de = DualEncoder.from_pretrained(a.model, query_prompt="query: ", passage_prompt="passage: ",
                                     query_max_length=a.max_length, passage_max_length=a.max_length)
    st = SentenceTransformer(a.model, device="cpu")
    st.max_seq_length = a.max_length

    def run_hf():
        return (de.encode_queries(queries, batch_size=a.batch_size, show_progress_bar=False),
                de.encode_passages(passages, batch_size=a.batch_size, show_progress_bar=False))

    def run_st():
        return (st.encode(queries, prompt="query: ", batch_size=a.batch_size, show_progress_bar=False),
                st.encode(passages, prompt="passage: ", batch_size=a.batch_size, show_progress_bar=False))

    # one untimed warm-up each (allocator, oneDNN kernels), then alternate
    e_hf, e_st = run_hf(), run_st()
    diff = max(float(np.abs(np.asarray(x) - np.asarray(y)).max()) for x, y in zip(e_hf, e_st))
    print(f"max |embedding difference| hf_hybrid vs ST: {diff:.2e}", flush=True)
    times: dict[str, list[float]] = {"hf": [], "st": []}
    cpu: dict[str, list[float]] = {"hf": [], "st": []}
    n = len(queries) + len(passages)
    for rep in range(a.repeats):
        for peer in (("hf", "st") if rep % 2 == 0 else ("st", "hf")):
            t0, c0 = time.perf_counter(), time.process_time()
            (run_hf if peer == "hf" else run_st)()
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            times[peer].append(dt)
            cpu[peer].append(dc)
            print(f"  run {rep + 1} {peer}: {n / dt:.1f} texts/s, {n / dc:.1f} texts/CPU-s "
                  f"(load {os.getloadavg()[0]:.2f})", flush=True)
    data = {"benchmark": "encode_throughput", "machine": machine, "settings": settings,
            "max_abs_embedding_diff": diff, "wall_seconds": times, "cpu_seconds": cpu}
    md = ["# Encoding throughput (CPU): DualEncoder.encode vs SentenceTransformer.encode", "",
          f"Command: `python benchmarks/encode_throughput.py --n-texts {a.n_texts} --batch-size {a.batch_size} "
          f"--max-length {a.max_length} --repeats {a.repeats} --threads {a.threads}`", "", "Machine:",
          machine_markdown(machine), "", "Settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()), "",
          f"Embeddings agree: max |difference| = {diff:.2e}", "",
          "| measure | hf_hybrid DualEncoder.encode_queries + encode_passages | SentenceTransformer.encode(prompt=...) "
          "| ratio hf/ST (medians) | ratio per alternating pair |", "|---|---:|---:|---:|---|"]
    for key, label, src in (("texts_per_s", "texts/s (wall clock)", times), ("texts_per_cpu_s", "texts per CPU-second", cpu)):
        rate = {k: statistics.median(n / t for t in ts) for k, ts in src.items()}
        per = [(n / h) / (n / s) for h, s in zip(src["hf"], src["st"])]
        data[key] = {"median": rate, "ratio_hf_over_st": rate["hf"] / rate["st"], "ratio_per_repeat": per}
        md.append(f"| {label}, median | {rate['hf']:.1f} | {rate['st']:.1f} | **{rate['hf'] / rate['st']:.3f}** | "
                  f"{', '.join(f'{x:.3f}' for x in per)} |")
    md += ["", "Texts per CPU-second counts only the time the process ran: the fairer measure on a shared machine."]
    print("\n".join(md[-6:]))
    j, m = write_results(a.name, data, "\n".join(md))
    print(f"wrote {j} and {m}")


if __name__ == "__main__":
    main()
