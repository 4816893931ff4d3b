"""Training throughput: hf_hybrid's ``DualEncoderTrainer`` vs sentence-transformers' ``SentenceTransformerTrainer``
with ``MultipleNegativesRankingLoss``, on the same model, pairs, batch size, max length, steps and seed.

Run (from the repository root; builds nothing, needs the converted e5-small, see benchmarks/README.md)::

    python benchmarks/train_throughput.py --model benchmarks/.cache/e5-small

What is identical in both runs:

* weights: the same multilingual-e5-small directory, fp32, full fine-tuning, AdamW, lr 2e-5, no warm-up;
* pairs *and their order*: the first ``steps x batch`` (query, answer sentence) pairs that hf_hybrid's
  ``HybridBatchSampler`` draws with ``strategy="x-x"`` (monolingual pairs, languages mixed) from XQuAD-R
  (all 11 languages; the bundled sample when ../shared/data is absent). hf_hybrid's trainer draws them
  itself; sentence-transformers gets them as an ordered dataset with a sequential batch sampler. Both
  collators are wrapped to hash the text pairs they receive, and the script checks the two hashes match;
* prompts ``query: `` / ``passage: `` (prepended to the text for ST), the same max length for queries and
  passages (ST has one ``max_seq_length``), temperature 0.05 = MNRL scale 20, no hard negatives;
* torch threads, no evaluation, no saving, no logging integrations, no dataloader workers.

Each trainer runs in its own subprocess (so peak RSS is its own), alternating hf_hybrid / ST ``--repeats``
times so that load from other processes on a shared machine hits both alike. Examples/s (pairs per
second) is measured from the end of step ``--warmup`` to the end of the last step, in wall-clock time and
per CPU-second of the process (robust to load from other jobs); the headline ratio is the median of the
per-pair ratios (the two runs of a pair ran back to back under about the same load).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (DEFAULT_MODEL, machine_info, machine_markdown, peak_rss_mib, print_header,  # noqa: E402
                     quiet_env, require_data, require_model, write_results)

quiet_env()


# ----------------------------------------------------------------------------------------------- data

def load_training_data(data_dir: str | None):
    from hf_hybrid.data import bundled_sample_path, load_lareqa

    path = require_data("xquad-r", data_dir)
    source = str(path) if path is not None else str(bundled_sample_path())
    return load_lareqa(source), source


def ordered_pairs(dataset, batch_size: int, steps: int, seed: int) -> list[tuple[str, str]]:
    """The (query, positive) pairs of the first ``steps`` x-x batches, in training order."""
    from hf_hybrid.sampling import HybridBatchSampler

    sampler = HybridBatchSampler(dataset, batch_size=batch_size, strategy="x-x", seed=seed, num_replicas=1, rank=0)
    sampler.set_epoch(0)
    pairs: list[tuple[str, str]] = []
    queries, positives = dataset["query"], dataset["positive"]
    it = iter(sampler)
    while len(pairs) < steps * batch_size:
        try:
            batch = next(it)
        except StopIteration:  # more steps than one epoch: continue with the next epoch, as the Trainer does
            sampler.set_epoch(sampler.epoch + 1)
            it = iter(sampler)
            continue
        pairs += [(queries[q], positives[p]) for q, p in batch]
    return pairs


class _Recorder:
    """Wraps a collator and hashes the text pairs it sees: proof that both trainers saw the same batches."""

    def __init__(self, inner, query_key: str, passage_key: str, limit: int, strip: tuple[str, str] = ("", "")):
        self.inner, self.qk, self.pk, self.strip, self.limit = inner, query_key, passage_key, strip, limit
        self.hash = hashlib.sha256()
        self.n = 0

    def __getattr__(self, name):  # trainers read collator attributes (e.g. ST's valid_label_columns)
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __call__(self, features):
        for f in features:
            if self.n >= self.limit:  # a dataloader may collate the batch after the last step ahead of time
                break
            self.n += 1
            q, p = f[self.qk], f[self.pk]
            q, p = q[len(self.strip[0]):], p[len(self.strip[1]):]
            self.hash.update(json.dumps([q, p], ensure_ascii=False).encode())
        return self.inner(features)


class _StepTimer:
    """Trainer callback: wall time and process CPU time at the end of every optimiser step."""

    def __init__(self):
        from transformers import TrainerCallback

        outer = self

        class CB(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                outer.times.append(time.perf_counter())
                outer.cpu.append(time.process_time())

        self.times: list[float] = []
        self.cpu: list[float] = []  # CPU seconds of this process (all its threads)
        self.callback = CB()


# ----------------------------------------------------------------------------------------------- workers

def _common_args(a, out_dir: str) -> dict:
    return dict(output_dir=out_dir, per_device_train_batch_size=a.batch_size, max_steps=a.steps,
                learning_rate=a.lr, warmup_steps=0, weight_decay=0.0, seed=a.seed, data_seed=a.seed,
                save_strategy="no", eval_strategy="no", logging_strategy="no", report_to="none",
                disable_tqdm=True, dataloader_num_workers=0, use_cpu=True)


def worker_hf(a) -> dict:
    from hf_hybrid.modeling import DualEncoder, InfoNCELoss
    from hf_hybrid.training import DualEncoderTrainer, HybridTrainingArguments

    dataset, _ = load_training_data(a.data)
    model = DualEncoder.from_pretrained(a.model, query_prompt="query: ", passage_prompt="passage: ",
                                        query_max_length=a.max_length, passage_max_length=a.max_length)
    with tempfile.TemporaryDirectory() as tmp:
        args = HybridTrainingArguments(**_common_args(a, tmp), strategy="x-x")
        timer = _StepTimer()
        trainer = DualEncoderTrainer(model, args, train_dataset=dataset,
                                     loss=InfoNCELoss(temperature=0.05), callbacks=[timer.callback])
        rec = _Recorder(trainer.data_collator, "query", "positive", a.steps * a.batch_size)
        trainer.data_collator = rec
        t0 = time.perf_counter()
        out = trainer.train()
        total = time.perf_counter() - t0
    return _summarise("hf_hybrid DualEncoderTrainer", a, timer, total, rec, out.training_loss)


def worker_st(a, pairs_file: str) -> dict:
    import datasets
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers.base.sampler import DefaultBatchSampler
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments
    from torch.utils.data import SequentialSampler

    pairs = json.loads(Path(pairs_file).read_text(encoding="utf-8"))
    train = datasets.Dataset.from_dict({"anchor": ["query: " + q for q, _ in pairs],
                                        "positive": ["passage: " + p for _, p in pairs]})
    model = SentenceTransformer(a.model, device="cpu")
    model.max_seq_length = a.max_length

    def sequential(dataset, batch_size, drop_last, **_):  # same order as hf_hybrid's sampler produced them
        return DefaultBatchSampler(SequentialSampler(dataset), batch_size=batch_size, drop_last=drop_last)

    with tempfile.TemporaryDirectory() as tmp:
        args = SentenceTransformerTrainingArguments(**_common_args(a, tmp), batch_sampler=sequential)
        timer = _StepTimer()
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=train,
                                             loss=MultipleNegativesRankingLoss(model, scale=1 / 0.05),
                                             callbacks=[timer.callback])
        rec = _Recorder(trainer.data_collator, "anchor", "positive", a.steps * a.batch_size,
                        strip=("query: ", "passage: "))
        trainer.data_collator = rec
        t0 = time.perf_counter()
        out = trainer.train()
        total = time.perf_counter() - t0
    return _summarise("sentence-transformers SentenceTransformerTrainer + MNRL", a, timer, total, rec,
                      out.training_loss)


def _summarise(name, a, timer, total, rec, loss) -> dict:
    w, times, cpu = a.warmup, timer.times, timer.cpu
    timed_steps = len(times) - w
    span = times[-1] - times[w - 1]
    cpu_span = cpu[-1] - cpu[w - 1]
    return {"trainer": name, "steps": len(times), "timed_steps": timed_steps,
            "examples_per_s": timed_steps * a.batch_size / span,
            "examples_per_cpu_s": timed_steps * a.batch_size / cpu_span,
            "train_wall_s": total, "examples_per_s_incl_warmup": len(times) * a.batch_size / total,
            "peak_rss_mib": peak_rss_mib(), "pairs_seen": rec.n, "pairs_sha256": rec.hash.hexdigest(),
            "training_loss": loss}


# ----------------------------------------------------------------------------------------------- driver

def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="converted multilingual-e5-small directory")
    p.add_argument("--data", default=None, help="XQuAD-R directory (default ../shared/data/xquad-r, else the bundled sample)")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=2, help="steps excluded from examples/s")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=64, help="max tokens of queries and passages (both trainers)")
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--repeats", type=int, default=2, help="alternating runs per trainer")
    p.add_argument("--name", default="train_throughput", help="results file stem under benchmarks/results/")
    p.add_argument("--render", action="store_true", help="rebuild the markdown from the results JSON, measure nothing")
    p.add_argument("--worker", choices=["hf", "st"], help=argparse.SUPPRESS)
    p.add_argument("--pairs-file", help=argparse.SUPPRESS)
    p.add_argument("--result-file", help=argparse.SUPPRESS)
    a = p.parse_args()

    if a.worker:
        import torch

        torch.set_num_threads(a.threads)
        res = worker_hf(a) if a.worker == "hf" else worker_st(a, a.pairs_file)
        Path(a.result_file).write_text(json.dumps(res))
        return

    if a.render:
        from _common import RESULTS

        data = json.loads((RESULTS / f"{a.name}.json").read_text())
        write_results(a.name, data, render(data))
        return
    require_model(a.model)
    if a.warmup < 1 or a.steps <= a.warmup:
        sys.exit("error: need --steps > --warmup >= 1")
    import torch

    torch.set_num_threads(a.threads)
    dataset, source = load_training_data(a.data)
    pairs = ordered_pairs(dataset, a.batch_size, a.steps, a.seed)
    expected = hashlib.sha256()
    for q, pos in pairs:
        expected.update(json.dumps([q, pos], ensure_ascii=False).encode())
    settings = {"model": str(Path(a.model).resolve().name), "data": source, "pairs": "x-x (monolingual, mixed languages)",
                "steps": a.steps, "warmup_steps_excluded": a.warmup, "batch_size": a.batch_size,
                "max_length": a.max_length, "precision": "fp32", "fine_tuning": "full", "optimizer": "AdamW",
                "lr": a.lr, "seed": a.seed, "torch_threads": a.threads, "repeats": a.repeats}
    machine = machine_info()
    print_header("training throughput: DualEncoderTrainer vs SentenceTransformerTrainer + MNRL (CPU)", settings, machine)

    runs: dict[str, list[dict]] = {"hf": [], "st": []}
    with tempfile.TemporaryDirectory() as tmp:
        pairs_file = os.path.join(tmp, "pairs.json")
        Path(pairs_file).write_text(json.dumps(pairs, ensure_ascii=False), encoding="utf-8")
        for rep in range(a.repeats):
            order = ("hf", "st") if rep % 2 == 0 else ("st", "hf")  # alternate who goes first
            for peer in order:
                result_file = os.path.join(tmp, f"{peer}-{rep}.json")
                cmd = [sys.executable, __file__, "--worker", peer, "--model", a.model, "--steps", str(a.steps),
                       "--warmup", str(a.warmup), "--batch-size", str(a.batch_size), "--max-length", str(a.max_length),
                       "--lr", str(a.lr), "--seed", str(a.seed), "--threads", str(a.threads),
                       "--pairs-file", pairs_file, "--result-file", result_file]
                if a.data:
                    cmd += ["--data", a.data]
                load0 = os.getloadavg()[0]
                subprocess.run(cmd, check=True)
                res = json.loads(Path(result_file).read_text())
                res["loadavg_1min_before"] = round(load0, 2)
                runs[peer].append(res)
                print(f"  run {rep + 1} {peer}: {res['examples_per_s']:.2f} examples/s (wall), "
                      f"{res['examples_per_cpu_s']:.2f} examples/CPU-s, peak RSS {res['peak_rss_mib']:.0f} MiB, "
                      f"loss {res['training_loss']:.4f} (load {load0:.2f})", flush=True)

    same = all(r["pairs_sha256"] == expected.hexdigest() for rs in runs.values() for r in rs)
    if not same:
        print("WARNING: the trainers did not see the same pairs; the comparison is not fair", file=sys.stderr)
    data = {"benchmark": "train_throughput", "machine": machine, "settings": settings, "same_pairs_verified": same,
            "command": f"python benchmarks/train_throughput.py --steps {a.steps} --warmup {a.warmup} "
                       f"--batch-size {a.batch_size} --max-length {a.max_length} --repeats {a.repeats} --threads {a.threads}",
            "runs": runs, "gpu": "no GPU lent to this task: bf16 / tokens/s / MFU runs not done"}
    for metric in ("examples_per_s", "examples_per_cpu_s"):
        med = {k: statistics.median(r[metric] for r in rs) for k, rs in runs.items()}
        per = [h[metric] / s[metric] for h, s in zip(runs["hf"], runs["st"])]
        data[metric] = {"median": med, "ratio_of_medians": med["hf"] / med["st"], "ratio_per_pair": per,
                        "ratio_median_of_pairs": statistics.median(per)}
    rss = {k: max(r["peak_rss_mib"] for r in rs) for k, rs in runs.items()}
    data["peak_rss_mib"] = rss
    data["rss_ratio_hf_over_st"] = rss["hf"] / rss["st"]
    md = render(data)
    print(md)
    j, m = write_results(a.name, data, md)
    print(f"wrote {j} and {m}")


def render(data: dict) -> str:
    """Markdown of a results JSON (``--render`` rebuilds it without re-measuring)."""
    runs, rss = data["runs"], data["peak_rss_mib"]
    md = ["# Training throughput (CPU): hf_hybrid vs sentence-transformers", "",
          f"Command: `{data['command']}`", "", "Machine:", machine_markdown(data["machine"]), "",
          "Settings: " + ", ".join(f"{k}={v}" for k, v in data["settings"].items()), "",
          f"Same pairs in the same order verified by hash: {data['same_pairs_verified']}. Final training loss "
          f"hf_hybrid {runs['hf'][-1]['training_loss']:.4f}, ST {runs['st'][-1]['training_loss']:.4f}.", "",
          "| measure | hf_hybrid DualEncoderTrainer + InfoNCE | ST SentenceTransformerTrainer + MNRL "
          "| **ratio hf/ST** (median of pairs) | ratio per alternating pair |", "|---|---:|---:|---:|---|"]
    for metric, label in (("examples_per_s", "examples/s (wall clock)"), ("examples_per_cpu_s", "examples per CPU-second")):
        d = data[metric]
        md.append(f"| {label}, median of runs | {d['median']['hf']:.2f} | {d['median']['st']:.2f} | "
                  f"**{d['ratio_median_of_pairs']:.3f}** | {', '.join(f'{x:.3f}' for x in d['ratio_per_pair'])} |")
    md.append(f"| peak RSS MiB (max over runs) | {rss['hf']:.0f} | {rss['st']:.0f} | {data['rss_ratio_hf_over_st']:.3f} | |")
    md += ["", "Per run, in the order they ran (examples/s wall; examples/CPU-s; 1-min load average before the run):", ""]
    for k in ("hf", "st"):
        md.append(f"- {k}: " + "; ".join(f"{r['examples_per_s']:.2f}, {r['examples_per_cpu_s']:.2f} "
                                          f"(load {r['loadavg_1min_before']})" for r in runs[k]))
    md += ["", "The runs alternate (hf, st | st, hf | hf, st ...) and each ratio compares the two runs of one pair, "
           "which ran seconds apart under about the same load; their median is the headline. Examples per "
           "CPU-second counts only the time the process actually ran, so it is the fairer measure on a machine "
           "shared with other jobs; wall-clock examples/s is what a user waits for on an idle machine.", "",
           "No GPU was lent to this task, so the bf16 / tokens/s / MFU runs on an XLM-R-base-sized encoder "
           "were not done."]
    return "\n".join(md)


if __name__ == "__main__":
    main()
