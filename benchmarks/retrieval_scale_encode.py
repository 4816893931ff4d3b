"""The ``encode`` part of ``benchmarks/retrieval_scale.py`` (issue 15): throughput of ``python -m hf_hybrid.encode``.

What: ``--encode-rows`` synthetic passages (default 20,000; 5-60 words drawn from the tiny encoder's default
texts, fixed seed) encoded into an embedding store by ``python -m hf_hybrid.encode`` with 1 process and with 2
(``accelerate launch --multi_gpu --num_processes 2``: gloo on CPU, each process encodes every 2nd chunk),
``--threads 1`` per process, chunks of ``--encode-rows / 10`` rows, for each of ``--encoders``:

* ``test``: the test encoder (``tests/tiny.py`` ``TINY``: hidden 32, 2 layers);
* ``tiny``: :func:`hf_hybrid.modeling.tiny_encoder.build_tiny_encoder`'s defaults (hidden 128, 2 layers).

Figures per run: rows/s = all rows / the encoding time of the slowest process (from the ``process i/n: ...
N rows in S s (R rows/s)`` line each process prints: ``N / R`` is its encoding time to ~1 row/s, finer than
the rounded ``S``), the wall time of the command (start-up, model load and the store's manifest included),
the 1-minute load before. ``--encode-repeats`` alternates the two (1, 2, 2, 1, ...) and keeps each one's best:
on a shared machine the best is the least disturbed. Per encoder: the 2/1 ratio of the best rows/s and the
largest ``|1-process - 2-process|`` embedding difference (the split must not change the numbers).

Why tiny encoders: the question is how the command scales with processes (sharding, gloo, the store), not how
fast a real model is; on 2 cores a real encoder would take the whole session.

Used by the driver (``python benchmarks/retrieval_scale.py --parts encode``)::

    result = part_encode(args, work)        # args: the driver's argparse namespace
    print(encode_markdown(result, data_settings))
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from _common import ROOT


@dataclass(frozen=True)
class TinyEncoderSpec:
    """One encoder of the part: ``build_tiny_encoder``'s arguments (its defaults are those of the builder)."""

    label: str
    vocab_size: int = 2000
    hidden_size: int = 128
    num_layers: int = 2
    num_heads: int | None = None
    intermediate_size: int | None = None
    max_position_embeddings: int = 512

    def build(self, out_dir: Path) -> None:
        """Build it into ``out_dir`` atomically (a killed build leaves no half model to be reused)."""
        from hf_hybrid.checkpoint.atomic import atomic_write_dir
        from hf_hybrid.modeling.tiny_encoder import DEFAULT_TEXTS, build_tiny_encoder

        atomic_write_dir(out_dir, lambda tmp: build_tiny_encoder(
            tmp, DEFAULT_TEXTS, vocab_size=self.vocab_size, hidden_size=self.hidden_size, num_layers=self.num_layers,
            num_heads=self.num_heads, intermediate_size=self.intermediate_size,
            max_position_embeddings=self.max_position_embeddings))


ENCODERS = {
    "test": TinyEncoderSpec("test encoder (hidden 32)", vocab_size=600, hidden_size=32, num_heads=2,
                            intermediate_size=64, max_position_embeddings=128),
    "tiny": TinyEncoderSpec("tiny_encoder defaults (hidden 128)"),
}
_PROCESS_LINE = re.compile(r"process (\d+)/(\d+): encoded chunks .*?; (\d+) rows in ([0-9.]+) s \((\d+) rows/s\)")


def _corpus(work: Path, rows: int) -> Path:
    """``rows`` synthetic passages (fixed seed) as JSONL in ``work``, written once."""
    from hf_hybrid.checkpoint.atomic import atomic_write_bytes
    from hf_hybrid.modeling.tiny_encoder import DEFAULT_TEXTS

    path = work / f"corpus-{rows}.jsonl"
    if not path.exists():
        rng = random.Random(0)
        words = [w for text in DEFAULT_TEXTS for w in text.split()]
        lines = (json.dumps({"id": f"d{i}", "text": " ".join(rng.choice(words) for _ in range(rng.randint(5, 60)))},
                            ensure_ascii=False) + "\n" for i in range(rows))
        atomic_write_bytes(path, "".join(lines).encode("utf-8"))
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _encode_run(model: Path, corpus: Path, out: Path, rows: int, chunk: int, processes: int) -> dict[str, Any]:
    """One ``python -m hf_hybrid.encode`` run into a fresh ``out``: per-process rows and seconds, wall time."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "hf_hybrid.encode"]
    if processes > 1:
        cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(processes),
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "--main_process_port", str(_free_port()), "-m", "hf_hybrid.encode"]
    cmd += ["--model", str(model), "--corpus", str(corpus), "--output", str(out), "--threads", "1",
            "--chunk_size", str(chunk), "--no_progress"]
    load = round(os.getloadavg()[0], 2)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"})
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    per = [{"rank": int(r), "rows": int(n), "seconds": round(int(n) / max(int(rate), 1), 3)}
           for r, _, n, _, rate in _PROCESS_LINE.findall(proc.stderr)]
    if len(per) != processes or sum(p["rows"] for p in per) != rows:
        raise RuntimeError(f"expected {processes} 'process i/n: ...' lines adding up to {rows} rows in the stderr of "
                           f"{' '.join(cmd)}; got {per}:\n{proc.stderr[-2000:]}")
    slowest = max(p["seconds"] for p in per)
    return {"processes": processes, "encode_seconds": slowest, "rows_per_s": round(rows / slowest),
            "wall_seconds": round(wall, 2), "per_process": per, "load_1min_before": load}


def part_encode(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Encoding throughput of ``python -m hf_hybrid.encode``: 1 vs 2 CPU processes, ``--threads 1`` each."""
    from hf_hybrid.retrieval.shards import EmbeddingStore

    rows, names = args.encode_rows, args.encoders.split(",")
    unknown = sorted(set(names) - set(ENCODERS))
    if unknown:
        raise ValueError(f"--encoders: unknown {unknown}; choose from {sorted(ENCODERS)}")
    chunk = max(1, rows // 10)
    base = work / "encode"
    corpus = _corpus(base, rows)
    result: dict[str, Any] = {"rows": rows, "chunk_size": chunk, "threads_per_process": 1,
                              "repeats": args.encode_repeats, "encoders": {}}
    for name in names:
        spec, model = ENCODERS[name], base / f"model-{name}"
        if not (model / "config.json").exists():
            spec.build(model)
        order = [p for i in range(args.encode_repeats) for p in ((1, 2) if i % 2 == 0 else (2, 1))]
        best: dict[int, dict[str, Any]] = {}
        for processes in order:
            run = _encode_run(model, corpus, base / f"out-{name}-{processes}", rows, chunk, processes)
            print(f"[encode] {name}: {run}", file=sys.stderr, flush=True)
            if processes not in best or run["rows_per_s"] > best[processes]["rows_per_s"]:
                best[processes] = run
        one, two = (EmbeddingStore(base / f"out-{name}-{p}").load_all() for p in (1, 2))
        result["encoders"][name] = {
            "label": spec.label, "runs": [best[1], best[2]],
            "ratio_2_to_1": round(best[2]["rows_per_s"] / best[1]["rows_per_s"], 2),
            "max_abs_diff": float(np.abs(one - two).max())}
    return result


def encode_markdown(result: dict[str, Any], s: dict[str, Any]) -> str:
    """The encode section of the results markdown (``s``, the data settings, is not used: its own data)."""
    md = [f"## encode ({result['rows']:,} synthetic passages, `python -m hf_hybrid.encode`)\n",
          f"5-60 words each; `--threads 1 --chunk_size {result['chunk_size']}` per process; 2 processes: "
          "`accelerate launch --multi_gpu --num_processes 2` (gloo on CPU). rows/s over the encoding time of the "
          f"slowest process; wall time includes start-up and model load. Best of {result['repeats']} alternating "
          "run(s) each.\n",
          "| encoder | processes | rows/s | encoding s | wall s | load before | 2p / 1p rows/s "
          "| max abs diff 1p vs 2p |",
          "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for enc in result["encoders"].values():
        for run in enc["runs"]:
            two = run["processes"] == 2
            ratio, diff = (f"**{enc['ratio_2_to_1']}**", f"{enc['max_abs_diff']:.1e}") if two else ("", "")
            md.append(f"| {enc['label']} | {run['processes']} | {run['rows_per_s']:,} | {run['encode_seconds']} | "
                      f"{run['wall_seconds']} | {run['load_1min_before']} | {ratio} | {diff} |")
    md.append("\nTwo processes on the 2 logical CPUs can at best double the rows/s; other jobs on the machine take "
              "their share first (see the load column), and each process also pays its own start-up.")
    return "\n".join(md)
