"""Reproduce the claims of "hybrid batch sampling" (arXiv 2408.10536) at small scale on a CPU.

Start from multilingual-e5-small (converted offline, see benchmarks/README.md), fine-tune it with LoRA on
the training articles of XQuAD-R with each batch strategy of docs/design.md section 2, and evaluate every run,
and the model before fine-tuning, on the held-out XQuAD-R articles and zero-shot on MLQA-R (other domain):
multilingual pool mAP, mono mAP, cross mAP and MaxRD (docs/design.md section 3).

Run (from the repository root)::

    python benchmarks/reproduce_paper.py --model benchmarks/.cache/e5-small            # all runs, then the report
    python benchmarks/reproduce_paper.py --runs base hybrid-a0.5                        # a subset (calibration)
    python benchmarks/reproduce_paper.py --report                                       # tables, plot, claims only

Runs: ``base`` (no fine-tuning), ``x-x-mono``, ``x-y``, ``x-x``, ``hybrid-a0.25``, ``hybrid-a0.5``,
``hybrid-a0.75``. The alpha sweep's end points are not trained twice: ``hybrid`` with alpha 0 draws exactly
the batches of ``x-y`` and alpha 1 exactly those of ``x-x-mono`` (the script checks this for every step
of the configured length before reusing them), and training is deterministic given batches and seed.

Everything is identical across runs but the strategy/alpha: steps, seed, batch size, learning rate and
schedule, LoRA config, max lengths, data split. Each run is its own subprocess with ``--threads`` torch
threads, ``--jobs`` of them at a time. Resumable at two levels: a run whose result JSON
(``benchmarks/results/paper/<run>-s<seed>.json``) exists with the same settings is skipped, and an
interrupted training resumes from its last checkpoint under ``benchmarks/runs/`` (git-ignored).

Data: XQuAD-R and MLQA-R are read from ``../shared/data`` (or ``--xquad`` / ``--mlqa``) and never copied
into the repository; MLQA-R (CC BY-NC) is skipped cleanly when absent. The MLQA-R pool is capped at
``--mlqa-articles`` articles (a seeded random choice, all their sentences in all languages) to bound
the CPU time.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (DEFAULT_MODEL, ROOT, RESULTS, machine_info, machine_markdown, quiet_env,  # noqa: E402
                     repo_relative, require_data, require_model, write_results)

from hf_hybrid.checkpoint import atomic_write_bytes  # noqa: E402

quiet_env()

PAPER_DIR = RESULTS / "paper"
RUNS_DIR = ROOT / "benchmarks" / "runs"

# name -> (strategy, alpha); None = the model before fine-tuning
RUNS: dict[str, tuple[str, float] | None] = {
    "base": None,
    "x-x-mono": ("x-x-mono", 1.0),
    "x-y": ("x-y", 0.0),
    "x-x": ("x-x", 0.0),
    "hybrid-a0.25": ("hybrid", 0.25),
    "hybrid-a0.5": ("hybrid", 0.5),
    "hybrid-a0.75": ("hybrid", 0.75),
}
# alpha sweep: alpha -> run holding it (0 and 1 are x-y and x-x-mono, see the module docstring)
ALPHA_SWEEP = {0.0: "x-y", 0.25: "hybrid-a0.25", 0.5: "hybrid-a0.5", 0.75: "hybrid-a0.75", 1.0: "x-x-mono"}
STRATEGY_LABELS = {"base": "e5-small (no fine-tuning)", "x-x-mono": "x-x-mono", "x-y": "x-y", "x-x": "x-x",
                   "hybrid-a0.5": "hybrid (alpha 0.5)", "hybrid-a0.25": "hybrid (alpha 0.25)",
                   "hybrid-a0.75": "hybrid (alpha 0.75)"}
METRICS = ("pool_map", "mono_map", "cross_map", "max_rd")
# settings that do not change a result: never a reason to redo a run
NEUTRAL_KEYS = {"eval_batch_size", "torch_threads_per_run"}
# settings of the fine-tuning only: irrelevant to the model before fine-tuning ("base")
TRAINING_KEYS = {"fine_tuning", "steps", "batch_size", "learning_rate", "warmup_steps", "lr_schedule", "weight_decay",
                 "optimizer", "loss"}


def settings_differ(name: str, saved: dict[str, Any], want: dict[str, Any]) -> list[str]:
    skip = NEUTRAL_KEYS | (TRAINING_KEYS if name == "base" else set())
    return sorted(k for k in set(saved) | set(want) if k not in skip and saved.get(k) != want.get(k))


# ============================================================================ settings and data

def settings_of(a) -> dict[str, Any]:
    """What must be identical for two results to be comparable (and for a saved result to be reused)."""
    return {"model": "multilingual-e5-small (converted with ../shared/tools/get-e5-small)",
            "model_sha256_16": model_digest(a.model), "xquad_test_articles": a.test_articles,
            "split_seed": a.split_seed, "mlqa_articles": a.mlqa_articles, "mlqa_seed": a.split_seed,
            "query_max_length": a.query_max_length, "passage_max_length": a.passage_max_length,
            "prompts": ["query: ", "passage: "], "fine_tuning": f"LoRA r={a.lora_r} alpha={a.lora_alpha} "
            "on all linear layers of the encoder (library default), dropout 0",
            "steps": a.steps, "batch_size": a.batch_size, "learning_rate": a.lr, "warmup_steps": a.warmup,
            "lr_schedule": "linear decay", "weight_decay": 0.0, "optimizer": "AdamW (Trainer default)",
            "loss": "InfoNCE, in-batch negatives, temperature 0.05, query->passage", "precision": "fp32",
            "eval_batch_size": a.eval_batch_size, "torch_threads_per_run": a.threads}


_DIGESTS: dict[str, str] = {}


def model_digest(path: str) -> str:
    """Short digest of the converted weights' size + head and tail bytes (hashing 470 MB each time is slow)."""
    if path not in _DIGESTS:
        f = Path(path) / "model.safetensors"
        h = hashlib.sha256(str(f.stat().st_size).encode())
        with open(f, "rb") as fh:
            h.update(fh.read(1 << 20))
            fh.seek(-(1 << 20), os.SEEK_END)
            h.update(fh.read(1 << 20))
        _DIGESTS[path] = h.hexdigest()[:16]
    return _DIGESTS[path]


def load_data(a):
    """(train dataset, held-out XQuAD-R pool, MLQA-R pool or None, description)."""
    from hf_hybrid.data import load_lareqa, load_lareqa_pool, split_by_article

    xq = require_data("xquad-r", a.xquad)
    if xq is None:
        sys.exit(f"error: XQuAD-R not found in {a.xquad or '../shared/data/xquad-r'}; pass --xquad DIR")
    full = load_lareqa(xq)
    train, test = split_by_article(full, test_size=a.test_articles, seed=a.split_seed)
    test_articles = sorted(set(test["article"]))
    xq_pool = load_lareqa_pool(xq, articles=test_articles)
    desc: dict[str, Any] = {
        "xquad": {"path": repo_relative(xq), "train_articles": sorted(set(train["article"])), "test_articles": test_articles,
                  "train_rows": len(train), "train_groups": len(set(train["group_id"])),
                  "pool_queries": len(xq_pool.query_ids), "pool_candidates": len(xq_pool.cand_ids),
                  "languages": xq_pool.languages}}
    ml_pool = None
    ml = require_data("mlqa-r", a.mlqa)
    if ml is None:
        desc["mlqa"] = {"skipped": f"{a.mlqa or '../shared/data/mlqa-r'} not found (MLQA-R is CC BY-NC and is not "
                                   "shipped with this repository)"}
    else:
        articles = sorted(set(load_lareqa(ml)["article"]))
        chosen = articles if a.mlqa_articles <= 0 or a.mlqa_articles >= len(articles) else \
            sorted(random.Random(a.split_seed).sample(articles, a.mlqa_articles))
        ml_pool = load_lareqa_pool(ml, articles=chosen)
        desc["mlqa"] = {"path": repo_relative(ml), "articles_used": len(chosen), "articles_total": len(articles),
                        "pool_queries": len(ml_pool.query_ids), "pool_candidates": len(ml_pool.cand_ids),
                        "languages": ml_pool.languages}
    return train, xq_pool, ml_pool, desc


def sampler_batches(train, strategy: str, alpha: float, a) -> list:
    """The batches a run trains on, epoch by epoch, as the Trainer draws them."""
    from hf_hybrid.sampling import HybridBatchSampler

    s = HybridBatchSampler(train, batch_size=a.batch_size, strategy=strategy, alpha=alpha, seed=a.seed,
                           num_replicas=1, rank=0)
    out: list = []
    for epoch in itertools.count():
        s.set_epoch(epoch)
        out += list(itertools.islice(iter(s), a.steps - len(out)))
        if len(out) >= a.steps:
            return out


# ============================================================================ one run (subprocess)

def result_path(a, name: str, seed: int) -> Path:
    return Path(a.results_dir) / (f"{name}.json" if name == "base" else f"{name}-s{seed}.json")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_one(a, name: str) -> None:
    """One run in this process; a lock file keeps two launchers from training the same run at once."""
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    lock = RUNS_DIR / f"{name}-s{a.seed}.lock"
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            break
        except FileExistsError:
            try:
                holder = int(lock.read_text() or 0)
            except (OSError, ValueError):
                holder = 0
            if holder and _pid_alive(holder):
                print(f"[{name}] another process ({holder}) is running it: waiting", flush=True)
                time.sleep(30)
            else:
                lock.unlink(missing_ok=True)  # stale lock of a killed run
    try:
        if existing_ok(a, name, a.seed):
            print(f"[{name}] result already present: nothing to do", flush=True)
            return
        _run_one(a, name)
    finally:
        lock.unlink(missing_ok=True)


def _run_one(a, name: str) -> None:
    import torch
    from transformers import set_seed
    from transformers.trainer_utils import get_last_checkpoint

    from hf_hybrid.evaluation import evaluate_model
    from hf_hybrid.modeling import DualEncoder

    torch.set_num_threads(a.threads)
    t_start = time.perf_counter()
    train, xq_pool, ml_pool, desc = load_data(a)
    spec = RUNS[name]
    train_info: dict[str, Any] | None = None
    lengths = dict(query_prompt="query: ", passage_prompt="passage: ", query_max_length=a.query_max_length,
                   passage_max_length=a.passage_max_length)
    if spec is None:
        model = DualEncoder.from_pretrained(a.model, **lengths)
    else:
        strategy, alpha = spec
        out_dir = RUNS_DIR / f"{name}-s{a.seed}"
        final = out_dir / "final"
        info_file = out_dir / "train_info.json"
        if (final / "hf_hybrid_config.json").is_file() and info_file.is_file():
            print(f"[{name}] training already finished: evaluating {final}", flush=True)
            model = DualEncoder.from_pretrained(final)
            train_info = json.loads(info_file.read_text())
        else:
            from hf_hybrid.modeling import InfoNCELoss
            from hf_hybrid.training import DualEncoderTrainer, HybridTrainingArguments

            set_seed(a.seed)  # LoRA's random init depends on it
            model = DualEncoder.from_pretrained(a.model, **lengths,
                                                lora={"r": a.lora_r, "alpha": a.lora_alpha, "dropout": 0.0})
            args = HybridTrainingArguments(
                output_dir=str(out_dir), strategy=strategy, alpha=alpha, per_device_train_batch_size=a.batch_size,
                max_steps=a.steps, learning_rate=a.lr, warmup_steps=a.warmup, lr_scheduler_type="linear",
                weight_decay=0.0, seed=a.seed, data_seed=a.seed, save_strategy="steps", save_steps=a.save_steps,
                save_total_limit=1, logging_steps=10, report_to="none", disable_tqdm=True, use_cpu=True,
                eval_strategy="no", dataloader_num_workers=0)
            trainer = DualEncoderTrainer(model, args, train_dataset=train,
                                         loss=InfoNCELoss(temperature=0.05))
            last = get_last_checkpoint(str(out_dir)) if out_dir.is_dir() else None
            if last:
                print(f"[{name}] resuming from {last}", flush=True)
            t0 = time.perf_counter()
            out = trainer.train(resume_from_checkpoint=last)
            train_wall = time.perf_counter() - t0
            trainer.save_model(str(final))
            train_info = {"strategy": strategy, "alpha": alpha, "train_wall_s": round(train_wall, 1),
                          "resumed_from": last and repo_relative(last), "training_loss": out.training_loss,
                          "batch_kinds": dict(trainer.batch_kinds),
                          "loss_log": [{"step": r["step"], "loss": r["loss"]} for r in trainer.state.log_history
                                       if "loss" in r]}
            atomic_write_bytes(info_file, json.dumps(train_info, indent=2).encode("utf-8"))
    model.eval()
    evals: dict[str, Any] = {}
    for key, pool in (("xquad_heldout", xq_pool), ("mlqa_zeroshot", ml_pool)):
        if pool is None:
            evals[key] = {"skipped": desc["mlqa"].get("skipped")}
            continue
        t0 = time.perf_counter()
        res = evaluate_model(model, pool, batch_size=a.eval_batch_size, model_name=name)
        evals[key] = {"summary": res.summary(), "eval_wall_s": round(time.perf_counter() - t0, 1),
                      "metrics": res.to_dict()}
        s = res.summary()
        print(f"[{name}] {key}: pool mAP {s['pool_map']:.4f} mono {s['mono_map']:.4f} cross {s['cross_map']:.4f} "
              f"MaxRD {s['max_rd']:.2f} ({evals[key]['eval_wall_s']} s)", flush=True)
    result = {"run": name, "seed": a.seed, "settings": settings_of(a), "data": desc, "train": train_info,
              "eval": evals, "wall_s": round(time.perf_counter() - t_start, 1), "machine": machine_info()}
    path = result_path(a, name, a.seed)
    atomic_write_bytes(path, json.dumps(result, indent=1, ensure_ascii=False).encode("utf-8"))
    print(f"[{name}] done in {result['wall_s']} s -> {path}", flush=True)


# ============================================================================ driver

def existing_ok(a, name: str, seed: int) -> bool:
    path = result_path(a, name, seed)
    if not path.is_file():
        return False
    diff = settings_differ(name, json.loads(path.read_text()).get("settings"), settings_of(a))
    if diff:
        sys.exit(f"error: {path} was made with other settings ({', '.join(diff)}); delete it (and "
                 f"benchmarks/runs/{name}-s{seed}) or pass --results-dir to keep both.")
    return True


def check_sweep_endpoints(a) -> dict[str, bool]:
    """hybrid alpha=0 / alpha=1 batches equal x-y / x-x-mono batches for all configured steps."""
    from hf_hybrid.data import load_lareqa, split_by_article

    full = load_lareqa(require_data("xquad-r", a.xquad))
    train, _ = split_by_article(full, test_size=a.test_articles, seed=a.split_seed)
    return {"alpha0_equals_x-y": sampler_batches(train, "hybrid", 0.0, a) == sampler_batches(train, "x-y", 0.0, a),
            "alpha1_equals_x-x-mono":
                sampler_batches(train, "hybrid", 1.0, a) == sampler_batches(train, "x-x-mono", 1.0, a)}


def launch(a, todo: list[tuple[str, int]]) -> None:
    """Run ``todo`` as subprocesses, ``--jobs`` at a time; each logs to benchmarks/runs/logs/."""
    logs = RUNS_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    queue, running, failed = list(todo), [], []
    while queue or running:
        while queue and len(running) < a.jobs:
            name, seed = queue.pop(0)
            cmd = [sys.executable, __file__, "--worker-run", name] + forward_args(a, seed)
            log = open(logs / f"{name}-s{seed}.log", "a")
            print(f"{time.strftime('%H:%M:%S')} start {name} seed {seed} (log {log.name}, load "
                  f"{os.getloadavg()[0]:.2f})", flush=True)
            running.append((name, seed, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), log, time.time()))
        time.sleep(5)
        for item in list(running):
            name, seed, proc, log, t0 = item
            if proc.poll() is not None:
                log.close()
                running.remove(item)
                status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode}, see {log.name})"
                print(f"{time.strftime('%H:%M:%S')} end {name} seed {seed}: {status} after {time.time() - t0:.0f} s",
                      flush=True)
                if proc.returncode:
                    failed.append(name)
    if failed:
        print(f"failed runs: {failed}", flush=True)


def forward_args(a, seed: int) -> list[str]:
    out = ["--seed", str(seed)]
    for key in ("model", "xquad", "mlqa", "results_dir", "test_articles", "split_seed", "mlqa_articles", "steps",
                "batch_size", "lr", "warmup", "lora_r", "lora_alpha", "query_max_length", "passage_max_length",
                "eval_batch_size", "threads", "save_steps"):
        value = getattr(a, key)
        if value is not None:
            out += [f"--{key.replace('_', '-')}", str(value)]
    return out


# ============================================================================ report

def _mean_sd(values: list[float]) -> tuple[float, float | None]:
    return (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None)


def collect(a) -> dict[str, dict[str, Any]]:
    """run -> {seeds, dataset -> metric -> (mean, sd)} from the result files present."""
    out: dict[str, dict[str, Any]] = {}
    for name in RUNS:
        files = [Path(a.results_dir) / f"{name}.json"] if name == "base" else \
            sorted(Path(a.results_dir).glob(f"{name}-s*.json"))
        results = [json.loads(f.read_text()) for f in files if f.is_file()]
        if not results:
            continue
        entry: dict[str, Any] = {"seeds": [r["seed"] for r in results], "settings": results[0]["settings"],
                                 "train_wall_s": [r["train"]["train_wall_s"] for r in results if r.get("train")],
                                 "wall_s": [r["wall_s"] for r in results]}
        for ds in ("xquad_heldout", "mlqa_zeroshot"):
            rows = [r["eval"][ds]["summary"] for r in results if "summary" in r["eval"].get(ds, {})]
            if rows:
                entry[ds] = {m: _mean_sd([row[m] for row in rows]) for m in METRICS}
                entry[ds + "_per_seed"] = {r["seed"]: r["eval"][ds]["summary"] for r in results
                                           if "summary" in r["eval"].get(ds, {})}
        out[name] = entry
    return out


def fmt(ms: tuple[float, float | None] | None, digits: int = 4) -> str:
    if ms is None:
        return "-"
    mean, sd = ms
    return f"{mean:.{digits}f}" + (f" ± {sd:.{digits}f}" if sd is not None else "")


_CLAIMS = (
    ("hybrid >= both baselines (x-x-mono, x-y) on multilingual pool mAP",
     lambda h, mono, xy: h["pool_map"] >= max(mono["pool_map"], xy["pool_map"]),
     lambda h, mono, xy: f"hybrid {h['pool_map']:.4f}, x-x-mono {mono['pool_map']:.4f}, x-y {xy['pool_map']:.4f}"),
    ("hybrid within 0.01 of x-x-mono on mono mAP (not more than 0.01 below)",
     lambda h, mono, xy: h["mono_map"] >= mono["mono_map"] - 0.01,
     lambda h, mono, xy: f"hybrid {h['mono_map']:.4f} vs x-x-mono {mono['mono_map']:.4f} "
                         f"(diff {h['mono_map'] - mono['mono_map']:+.4f})"),
    ("hybrid within 0.01 of x-y on cross mAP (not more than 0.01 below)",
     lambda h, mono, xy: h["cross_map"] >= xy["cross_map"] - 0.01,
     lambda h, mono, xy: f"hybrid {h['cross_map']:.4f} vs x-y {xy['cross_map']:.4f} "
                         f"(diff {h['cross_map'] - xy['cross_map']:+.4f})"),
    ("hybrid MaxRD lower (less language bias) than x-x-mono",
     lambda h, mono, xy: h["max_rd"] < mono["max_rd"],
     lambda h, mono, xy: f"hybrid {h['max_rd']:.2f} vs x-x-mono {mono['max_rd']:.2f}"),
)


def claims(agg: dict[str, Any], ds: str) -> list[dict[str, Any]]:
    """The paper's claims on one dataset: checked on the means over seeds, and seed by seed."""
    need = ("hybrid-a0.5", "x-x-mono", "x-y")
    if not all(ds in agg.get(n, {}) for n in need):
        return []
    means = [{m: agg[n][ds][m][0] for m in METRICS} for n in need]
    per_seed = [agg[n][ds + "_per_seed"] for n in need]
    common = sorted(set(per_seed[0]) & set(per_seed[1]) & set(per_seed[2]))
    out = []
    for text, holds, values in _CLAIMS:
        by_seed = {s: bool(holds(*(p[s] for p in per_seed))) for s in common}
        out.append({"claim": text, "values": values(*means), "supported": bool(holds(*means)),
                    "holds_per_seed": by_seed})
    return out


def plot(agg: dict[str, Any], path: Path) -> Path | None:
    """pool mAP vs MaxRD per strategy; top row: every run, bottom row: zoom on x-x-mono, x-y and hybrid
    (the untuned model and x-x sit far away and squeeze the others into one corner)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    datasets = [(ds, t) for ds, t in (("xquad_heldout", "XQuAD-R, 12 held-out articles"),
                                      ("mlqa_zeroshot", "MLQA-R, zero-shot")) if any(ds in v for v in agg.values())]
    if not datasets:
        return None
    fig = Figure(figsize=(5.4 * len(datasets), 8.6), dpi=110)
    FigureCanvasAgg(fig)
    colors = {"base": "grey", "x-x-mono": "tab:blue", "x-y": "tab:orange", "x-x": "tab:green",
              "hybrid-a0.25": "tab:purple", "hybrid-a0.5": "tab:red", "hybrid-a0.75": "tab:brown"}
    markers = {"base": "X", "x-x-mono": "s", "x-y": "^", "x-x": "D"}
    for row, with_base in enumerate((True, False)):
        for i, (ds, title) in enumerate(datasets):
            ax = fig.add_subplot(2, len(datasets), row * len(datasets) + i + 1)
            sweep = [(alpha, agg[n][ds]) for alpha, n in ALPHA_SWEEP.items() if ds in agg.get(n, {})]
            if len(sweep) > 1:
                ax.plot([v["max_rd"][0] for _, v in sweep], [v["pool_map"][0] for _, v in sweep],
                        color="tab:red", alpha=0.35, lw=1.5, zorder=1,
                        label="hybrid alpha sweep (0 = x-y ... 1 = x-x-mono)")
                if not with_base:
                    for alpha, v in sweep:
                        ax.annotate(f"α={alpha:g}", (v["max_rd"][0], v["pool_map"][0]), textcoords="offset points",
                                    xytext=(7, 4), fontsize=7, color="tab:red")
            for name, entry in agg.items():
                if ds not in entry or (name in ("base", "x-x") and not with_base):
                    continue
                v = entry[ds]
                ax.errorbar(v["max_rd"][0], v["pool_map"][0], xerr=v["max_rd"][1], yerr=v["pool_map"][1],
                            fmt=markers.get(name, "o"), color=colors.get(name, "black"), ms=8, capsize=3, zorder=3,
                            label=STRATEGY_LABELS.get(name, name))
            ax.set_xlabel("MaxRD (lower = less language bias)")
            ax.set_ylabel("multilingual pool mAP")
            ax.set_title(title + ("" if with_base else ": zoom on x-x-mono, x-y and hybrid"), fontsize=10)
            if not with_base:
                off = [f"{STRATEGY_LABELS.get(n, n).split(' (')[0]}: mAP {agg[n][ds]['pool_map'][0]:.3f}, "
                       f"MaxRD {agg[n][ds]['max_rd'][0]:.0f}" for n in ("base", "x-x") if ds in agg.get(n, {})]
                if off:
                    ax.text(0.02, 0.02, "off this chart:\n" + "\n".join(off), transform=ax.transAxes, ha="left",
                            va="bottom", fontsize=7, color="dimgrey")
            ax.grid(alpha=0.3)
            if row == 0 and i == 0:
                ax.legend(fontsize=7, loc="best")
    fig.suptitle("multilingual pool mAP vs MaxRD by batch strategy (better: up and left; bars: sd over seeds)", fontsize=11)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    atomic_write_bytes(path, buffer.getvalue())
    return path


def report(a) -> None:
    agg = collect(a)
    if not agg:
        print("no results yet")
        return
    settings = next(e["settings"] for n, e in list(agg.items())[::-1])  # a trained run's, when there is one
    sweep_check = None
    if require_data("xquad-r", a.xquad) is not None and settings["steps"] == a.steps and \
            settings["batch_size"] == a.batch_size:
        sweep_check = check_sweep_endpoints(a)
    mismatched = [n for n, e in agg.items() if settings_differ(n, e["settings"], settings)]
    sample = json.loads(next(iter(sorted(Path(a.results_dir).glob("*.json")))).read_text())
    data_desc = sample["data"]
    # the summary goes beside the per-run results' folder: benchmarks/results/ for the default one
    out_dir = RESULTS if Path(a.results_dir).resolve() == PAPER_DIR.resolve() else Path(a.results_dir)
    png = plot(agg, out_dir / "paper_map_vs_maxrd.png")
    md = ["# Reproducing the paper's claims (multilingual-e5-small, LoRA, CPU)", "",
          "Command: `python benchmarks/reproduce_paper.py` (see benchmarks/README.md); per-run results in "
          "`benchmarks/results/paper/`.", "",
          "Settings: " + ", ".join(f"{k}={v}" for k, v in settings.items() if k != "model_sha256_16"), "",
          f"Data: XQuAD-R split by article ({len(data_desc['xquad']['train_articles'])} train / "
          f"{len(data_desc['xquad']['test_articles'])} test articles, split seed {settings['split_seed']}; "
          f"{data_desc['xquad']['train_groups']} training questions x 11 languages); held-out pool "
          f"{data_desc['xquad']['pool_queries']} queries x {data_desc['xquad']['pool_candidates']} candidates. "
          + (f"MLQA-R zero-shot: {data_desc['mlqa']['articles_used']} of {data_desc['mlqa']['articles_total']} "
             f"articles (seeded random), {data_desc['mlqa']['pool_queries']} queries x "
             f"{data_desc['mlqa']['pool_candidates']} candidates, 7 languages."
             if "skipped" not in data_desc["mlqa"] else f"MLQA-R: {data_desc['mlqa']['skipped']}"), "",
          f"Test articles: {', '.join(data_desc['xquad']['test_articles'])}.", ""]
    if mismatched:
        md += [f"**Warning: runs {mismatched} used other settings than the first run; not comparable.**", ""]
    seeds = sorted({s for e in agg.values() for s in e["seeds"]})
    md += [f"Seeds: {seeds}; each cell is the mean (± sd) over the seeds listed in its row; the claims use "
           "those means.", ""]
    for ds, title in (("xquad_heldout", "XQuAD-R, held-out articles"), ("mlqa_zeroshot", "MLQA-R, zero-shot")):
        rows = [(n, e) for n, e in agg.items() if ds in e]
        if not rows:
            continue
        md += [f"## {title}", "", "| run | seeds | pool mAP | mono mAP | cross mAP | MaxRD |",
               "|---|---|---:|---:|---:|---:|"]
        for n, e in rows:
            seeds_txt = "-" if n == "base" else ", ".join(map(str, e["seeds"]))
            md.append(f"| {STRATEGY_LABELS.get(n, n)} | {seeds_txt} | "
                      + " | ".join(fmt(e[ds][m], 2 if m == "max_rd" else 4) for m in METRICS) + " |")
        md += ["", "Alpha sweep (hybrid; alpha 0 = x-y, alpha 1 = x-x-mono):", "",
               "| alpha | pool mAP | mono mAP | cross mAP | MaxRD |", "|---:|---:|---:|---:|---:|"]
        for alpha, n in ALPHA_SWEEP.items():
            if ds in agg.get(n, {}):
                md.append(f"| {alpha:g} | " + " | ".join(fmt(agg[n][ds][m], 2 if m == "max_rd" else 4)
                                                        for m in METRICS) + " |")
        cl = claims(agg, ds)
        if cl:
            md += ["", "Claims of the paper on this data (hybrid = alpha 0.5):", "",
                   "| claim | measured (means) | supported by the means | seeds where it holds |", "|---|---|---|---|"]
            md += [f"| {c['claim']} | {c['values']} | {'yes' if c['supported'] else '**no**'} | "
                   f"{sum(c['holds_per_seed'].values())} of {len(c['holds_per_seed'])} |" for c in cl]
        md.append("")
    if sweep_check is not None:
        md += [f"Sweep end points reuse runs: batches identical for all {settings['steps']} steps: "
               + ", ".join(f"{k}={v}" for k, v in sweep_check.items()), ""]
    walls = {n: e["train_wall_s"] for n, e in agg.items() if e["train_wall_s"]}
    if walls:
        md += ["Training wall time per run (s, " + f"{settings['torch_threads_per_run']} torch thread(s), "
               "shared machine): " + ", ".join(f"{n} {', '.join(f'{w:.0f}' for w in ws)}" for n, ws in walls.items()),
               ""]
    md += ["Machine (of the first result file):", machine_markdown(sample["machine"])]
    if png:
        md += ["", f"![pool mAP vs MaxRD]({png.name})"]
    summary = {"benchmark": "reproduce_paper", "settings": settings, "data": data_desc, "seeds": seeds,
               "runs": {n: {k: v for k, v in e.items() if k != "settings"} for n, e in agg.items()},
               "claims": {ds: claims(agg, ds) for ds in ("xquad_heldout", "mlqa_zeroshot")},
               "sweep_endpoints_identical_batches": sweep_check, "plot": png.name if png else None}
    j, m = write_results("reproduce_paper", summary, "\n".join(md), out_dir)
    print("\n".join(md))
    print(f"wrote {j}, {m}" + (f", {png}" if png else ""))


# ============================================================================ CLI

def add_study_args(p: argparse.ArgumentParser, *, results_dir: Path, mlqa_articles: int, mlqa_help: str,
                   jobs: int, save_steps: int) -> None:
    """The options this study shares with strategy_study.py (model, data, split, training budget, launcher);
    each script adds its own (which runs, batch size, ...) and its defaults where they differ."""
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="converted multilingual-e5-small directory")
    p.add_argument("--xquad", default=None, help="XQuAD-R directory (default ../shared/data/xquad-r)")
    p.add_argument("--mlqa", default=None, help="MLQA-R directory (default ../shared/data/mlqa-r; skipped if absent)")
    p.add_argument("--results-dir", default=str(results_dir))
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--test-articles", type=int, default=12, help="held-out XQuAD-R test articles (of 48)")
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--mlqa-articles", type=int, default=mlqa_articles, help=mlqa_help)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--lora-alpha", type=int, default=32)
    p.add_argument("--query-max-length", type=int, default=32)
    p.add_argument("--passage-max-length", type=int, default=64)
    p.add_argument("--eval-batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=1, help="torch threads per run")
    p.add_argument("--jobs", type=int, default=jobs, help="runs at a time")
    p.add_argument("--save-steps", type=int, default=save_steps, help="checkpoint interval (resumability)")
    p.add_argument("--report", action="store_true", help="only aggregate existing results")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    add_study_args(p, results_dir=PAPER_DIR, mlqa_articles=100, mlqa_help="MLQA-R articles in the pool (0 = all 520)",
                   jobs=max(1, (os.cpu_count() or 1)), save_steps=30)
    p.add_argument("--runs", nargs="+", choices=list(RUNS), default=list(RUNS))
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--worker-run", choices=list(RUNS), help=argparse.SUPPRESS)
    a = p.parse_args()

    if a.worker_run:
        run_one(a, a.worker_run)
        return
    if not a.report:
        require_model(a.model)
        todo = [(n, s) for s in a.seeds for n in a.runs if not (n == "base" and s != a.seeds[0])
                and not existing_ok(a, n, s)]
        done = [(n, s) for s in a.seeds for n in a.runs if (n, s) not in todo and not (n == "base" and s != a.seeds[0])]
        if done:
            print(f"already done (skipped): {done}")
        print(f"to run: {todo}", flush=True)
        launch(a, todo)
    report(a)


if __name__ == "__main__":
    main()
