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

Peers (``--peers``, default ``hf st``): ``hf`` is hf_hybrid's trainer, optionally with its issue-14 options
``hf:mb=M`` (``--mini_batch_size M``), ``,sorted`` (``--length_sorted_chunks``) and ``,nocache``
(``--cache_gradients false``), e.g. ``hf:mb=8,sorted,nocache``; ``st`` is ST with MNRL and ``st:cached=M``
ST with ``CachedMultipleNegativesRankingLoss(mini_batch_size=M)``. Every ``hf*`` peer is compared with the
first ``st*`` peer. ``--lora`` trains LoRA adapters (r 8, alpha 16, no dropout, all linear layers of the
encoder but the pooler, the same PEFT config and seed in both trainers) instead of all weights.
``--memory`` runs the ``hf*`` peers only, at each ``--batch-sizes`` value, and reports their peak RSS.
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
                     quiet_env, repo_relative, require_data, require_model, write_results)

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
            def on_train_begin(self, args, state, control, **kwargs):
                outer.start = (time.perf_counter(), time.process_time())
                outer.rss_before_train = _current_rss_mib()

            def on_step_end(self, args, state, control, **kwargs):
                outer.times.append(time.perf_counter())
                outer.cpu.append(time.process_time())

        self.start = (0.0, 0.0)
        self.rss_before_train = float("nan")
        self.times: list[float] = []
        self.cpu: list[float] = []  # CPU seconds of this process (all its threads)
        self.callback = CB()


# ----------------------------------------------------------------------------------------------- peers

def parse_peer(spec: str) -> dict:
    """``hf[:mb=M][,sorted][,nocache]`` or ``st[:cached=M]`` -> the settings of that peer."""
    kind, _, opts = spec.partition(":")
    if kind not in ("hf", "st"):
        raise SystemExit(f"error: peer {spec!r}: must start with 'hf' or 'st'")
    out = {"spec": spec, "kind": kind, "mini_batch_size": None, "length_sorted_chunks": False,
           "cache_gradients": True, "st_cached": None}
    for opt in filter(None, opts.split(",")):
        key, _, val = opt.partition("=")
        if kind == "hf" and key == "mb":
            out["mini_batch_size"] = int(val)
        elif kind == "hf" and key == "sorted":
            out["length_sorted_chunks"] = True
        elif kind == "hf" and key == "nocache":
            out["cache_gradients"] = False
        elif kind == "st" and key == "cached":
            out["st_cached"] = int(val)
        else:
            raise SystemExit(f"error: peer {spec!r}: unknown option {opt!r}")
    if kind == "hf" and out["mini_batch_size"] is None and (out["length_sorted_chunks"] or not out["cache_gradients"]):
        raise SystemExit(f"error: peer {spec!r}: 'sorted' and 'nocache' need mb=M")
    return out


def peer_label(peer: dict) -> str:
    if peer["kind"] == "st":
        return ("ST SentenceTransformerTrainer + MNRL" if peer["st_cached"] is None else
                f"ST SentenceTransformerTrainer + CachedMNRL(mini_batch_size={peer['st_cached']})")
    if peer["mini_batch_size"] is None:
        return "hf_hybrid DualEncoderTrainer + InfoNCE"
    opts = [f"--mini_batch_size {peer['mini_batch_size']}"]
    if peer["length_sorted_chunks"]:
        opts.append("--length_sorted_chunks")
    if not peer["cache_gradients"]:
        opts.append("--cache_gradients false")
    return "hf_hybrid DualEncoderTrainer + InfoNCE, " + " ".join(opts)


LORA = {"r": 8, "alpha": 16, "dropout": 0.0, "targets": ["query", "key", "value", "dense"], "exclude": r".*pooler.*"}


def _current_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ----------------------------------------------------------------------------------------------- workers

def _common_args(a, out_dir: str) -> dict:
    return dict(output_dir=out_dir, per_device_train_batch_size=a.batch_size, max_steps=a.steps,
                learning_rate=a.lr, warmup_steps=0, weight_decay=0.0, seed=a.seed, data_seed=a.seed,
                save_strategy="no", eval_strategy="no", logging_strategy="no", report_to="none",
                disable_tqdm=True, dataloader_num_workers=0, use_cpu=True)


def worker_hf(a, peer: dict) -> dict:
    from transformers import set_seed

    from hf_hybrid.modeling import DualEncoder, InfoNCELoss, apply_lora
    from hf_hybrid.training import DualEncoderTrainer, HybridTrainingArguments

    dataset, _ = load_training_data(a.data)
    model = DualEncoder.from_pretrained(a.model, query_prompt="query: ", passage_prompt="passage: ",
                                        query_max_length=a.max_length, passage_max_length=a.max_length)
    if a.lora:
        set_seed(a.seed)  # the adapters' initial weights: the same draws as in the ST worker
        apply_lora(model, r=LORA["r"], alpha=LORA["alpha"], dropout=LORA["dropout"], target_modules=LORA["targets"],
                   verbose=False)
    with tempfile.TemporaryDirectory() as tmp:
        args = HybridTrainingArguments(**_common_args(a, tmp), strategy="x-x", mini_batch_size=peer["mini_batch_size"],
                                       cache_gradients=peer["cache_gradients"],
                                       length_sorted_chunks=peer["length_sorted_chunks"])
        timer = _StepTimer()
        trainer = DualEncoderTrainer(model, args, train_dataset=dataset,
                                     loss=InfoNCELoss(temperature=0.05), callbacks=[timer.callback])
        rec = _Recorder(trainer.data_collator, "query", "positive", a.steps * a.batch_size)
        trainer.data_collator = rec
        t0 = time.perf_counter()
        out = trainer.train()
        total = time.perf_counter() - t0
    return _summarise(peer_label(peer), a, timer, total, rec, out.training_loss)


def worker_st(a, pairs_file: str, peer: dict) -> dict:
    import datasets
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers.base.sampler import DefaultBatchSampler
    from sentence_transformers.sentence_transformer.losses import (CachedMultipleNegativesRankingLoss,
                                                                    MultipleNegativesRankingLoss)
    from transformers import set_seed
    from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments
    from torch.utils.data import SequentialSampler

    pairs = json.loads(Path(pairs_file).read_text(encoding="utf-8"))
    train = datasets.Dataset.from_dict({"anchor": ["query: " + q for q, _ in pairs],
                                        "positive": ["passage: " + p for _, p in pairs]})
    model = SentenceTransformer(a.model, device="cpu")
    model.max_seq_length = a.max_length
    if a.lora:
        from peft import LoraConfig, TaskType, get_peft_model

        # PEFT directly, as hf_hybrid's apply_lora does (ST's add_adapter goes through transformers, which
        # wants a newer PEFT than the one installed): the same config on the same encoder.
        set_seed(a.seed)
        model[0].model = get_peft_model(model[0].model, LoraConfig(
            r=LORA["r"], lora_alpha=LORA["alpha"], lora_dropout=LORA["dropout"], target_modules=LORA["targets"],
            exclude_modules=LORA["exclude"], task_type=TaskType.FEATURE_EXTRACTION))
    if peer["st_cached"] is None:
        loss = MultipleNegativesRankingLoss(model, scale=1 / 0.05)
    else:
        loss = CachedMultipleNegativesRankingLoss(model, scale=1 / 0.05, mini_batch_size=peer["st_cached"],
                                                  show_progress_bar=False)

    def sequential(dataset, batch_size, drop_last, **_):  # same order as hf_hybrid's sampler produced them
        return DefaultBatchSampler(SequentialSampler(dataset), batch_size=batch_size, drop_last=drop_last)

    with tempfile.TemporaryDirectory() as tmp:
        args = SentenceTransformerTrainingArguments(**_common_args(a, tmp), batch_sampler=sequential)
        timer = _StepTimer()
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=train,
                                             loss=loss, callbacks=[timer.callback])
        rec = _Recorder(trainer.data_collator, "anchor", "positive", a.steps * a.batch_size,
                        strip=("query: ", "passage: "))
        trainer.data_collator = rec
        t0 = time.perf_counter()
        out = trainer.train()
        total = time.perf_counter() - t0
    return _summarise(peer_label(peer), a, timer, total, rec, out.training_loss)


def _summarise(name, a, timer, total, rec, loss) -> dict:
    w, times, cpu = a.warmup, timer.times, timer.cpu
    timed_steps = len(times) - w
    span = times[-1] - (times[w - 1] if w else timer.start[0])  # --warmup 0 (memory runs): from the train start
    cpu_span = cpu[-1] - (cpu[w - 1] if w else timer.start[1])
    return {"trainer": name, "steps": len(times), "timed_steps": timed_steps,
            "examples_per_s": timed_steps * a.batch_size / span,
            "examples_per_cpu_s": timed_steps * a.batch_size / cpu_span,
            "train_wall_s": total, "examples_per_s_incl_warmup": len(times) * a.batch_size / total,
            "peak_rss_mib": peak_rss_mib(), "rss_before_train_mib": timer.rss_before_train,
            "batch_size": a.batch_size, "pairs_seen": rec.n, "pairs_sha256": rec.hash.hexdigest(),
            "training_loss": loss}


# ----------------------------------------------------------------------------------------------- driver

def _worker_cmd(a, peer_spec: str, batch_size: int, pairs_file: str, result_file: str) -> list[str]:
    cmd = [sys.executable, __file__, "--worker", peer_spec, "--model", a.model, "--steps", str(a.steps),
           "--warmup", str(a.warmup), "--batch-size", str(batch_size), "--max-length", str(a.max_length),
           "--lr", str(a.lr), "--seed", str(a.seed), "--threads", str(a.threads),
           "--pairs-file", pairs_file, "--result-file", result_file]
    if a.data:
        cmd += ["--data", a.data]
    if a.lora:
        cmd.append("--lora")
    return cmd


def _run_worker(cmd: list[str], result_file: str) -> dict:
    load0 = os.getloadavg()[0]
    subprocess.run(cmd, check=True)
    res = json.loads(Path(result_file).read_text())
    res["loadavg_1min_before"] = round(load0, 2)
    res["loadavg_1min_after"] = round(os.getloadavg()[0], 2)
    return res


def _command(a) -> str:
    cmd = (f"python benchmarks/train_throughput.py --steps {a.steps} --warmup {a.warmup} --max-length {a.max_length} "
           f"--threads {a.threads} --lr {a.lr}")
    cmd += (" --memory --batch-sizes " + " ".join(map(str, a.batch_sizes))) if a.memory else \
        f" --batch-size {a.batch_size} --repeats {a.repeats}"
    if a.peers != ["hf", "st"]:
        cmd += " --peers " + " ".join(a.peers)
    if a.lora:
        cmd += " --lora"
    if a.name != "train_throughput":
        cmd += f" --name {a.name}"
    return cmd


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
    p.add_argument("--peers", nargs="+", default=["hf", "st"],
                   help="hf[:mb=M][,sorted][,nocache] and st[:cached=M] specs (see the module docstring)")
    p.add_argument("--lora", action="store_true", help="LoRA adapters (r 8, alpha 16) instead of full fine-tuning")
    p.add_argument("--memory", action="store_true", help="peak RSS of the hf peers at each --batch-sizes value")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256, 1024],
                   help="with --memory: global batch sizes; a peer 'hf' (no mini-batches) skips sizes above --plain-max")
    p.add_argument("--plain-max", type=int, default=256, help="with --memory: largest batch for peers without mb=")
    p.add_argument("--name", default="train_throughput", help="results file stem under benchmarks/results/")
    p.add_argument("--render", action="store_true", help="rebuild the markdown from the results JSON, measure nothing")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--pairs-file", help=argparse.SUPPRESS)
    p.add_argument("--result-file", help=argparse.SUPPRESS)
    a = p.parse_args()

    if a.worker:
        import torch

        torch.set_num_threads(a.threads)
        peer = parse_peer(a.worker)
        res = worker_hf(a, peer) if peer["kind"] == "hf" else worker_st(a, a.pairs_file, peer)
        Path(a.result_file).write_text(json.dumps(res))
        return

    if a.render:
        from _common import RESULTS

        data = json.loads((RESULTS / f"{a.name}.json").read_text())
        write_results(a.name, data, render(data))
        return
    require_model(a.model)
    peers = [parse_peer(s) for s in a.peers]
    if a.memory:
        if a.warmup != 0:
            sys.exit("error: --memory measures peak RSS only: pass --warmup 0 (and a small --steps, e.g. 1)")
        return main_memory(a, peers)
    if a.warmup < 1 or a.steps <= a.warmup:
        sys.exit("error: need --steps > --warmup >= 1")
    if not any(x["kind"] == "st" for x in peers) or not any(x["kind"] == "hf" for x in peers):
        sys.exit("error: --peers needs at least one hf* and one st* peer")
    import torch

    torch.set_num_threads(a.threads)
    dataset, source = load_training_data(a.data)
    pairs = ordered_pairs(dataset, a.batch_size, a.steps, a.seed)
    expected = hashlib.sha256()
    for q, pos in pairs:
        expected.update(json.dumps([q, pos], ensure_ascii=False).encode())
    settings = {"model": str(Path(a.model).resolve().name), "data": repo_relative(source), "pairs": "x-x (monolingual, mixed languages)",
                "steps": a.steps, "warmup_steps_excluded": a.warmup, "batch_size": a.batch_size,
                "max_length": a.max_length, "precision": "fp32",
                "fine_tuning": (f"LoRA r={LORA['r']} alpha={LORA['alpha']} dropout={LORA['dropout']} on "
                                f"{'/'.join(LORA['targets'])} (not the pooler)") if a.lora else "full",
                "optimizer": "AdamW", "lr": a.lr, "seed": a.seed, "torch_threads": a.threads, "repeats": a.repeats,
                "peers": a.peers}
    machine = machine_info()
    print_header("training throughput: DualEncoderTrainer vs SentenceTransformerTrainer (CPU)", settings, machine)

    runs: dict[str, list[dict]] = {s: [] for s in a.peers}
    with tempfile.TemporaryDirectory() as tmp:
        pairs_file = os.path.join(tmp, "pairs.json")
        Path(pairs_file).write_text(json.dumps(pairs, ensure_ascii=False), encoding="utf-8")
        for rep in range(a.repeats):
            order = a.peers if rep % 2 == 0 else a.peers[::-1]  # alternate who goes first
            for spec in order:
                result_file = os.path.join(tmp, f"{len(runs[spec])}-{rep}-{abs(hash(spec))}.json")
                res = _run_worker(_worker_cmd(a, spec, a.batch_size, pairs_file, result_file), result_file)
                runs[spec].append(res)
                print(f"  run {rep + 1} {spec}: {res['examples_per_s']:.2f} examples/s (wall), "
                      f"{res['examples_per_cpu_s']:.2f} examples/CPU-s, peak RSS {res['peak_rss_mib']:.0f} MiB, "
                      f"loss {res['training_loss']:.6f} (load {res['loadavg_1min_before']})", flush=True)

    same = all(r["pairs_sha256"] == expected.hexdigest() for rs in runs.values() for r in rs)
    if not same:
        print("WARNING: the trainers did not see the same pairs; the comparison is not fair", file=sys.stderr)
    st_spec = next(s for s in a.peers if s.startswith("st"))
    data = {"benchmark": "train_throughput", "machine": machine, "settings": settings, "same_pairs_verified": same,
            "command": _command(a), "peers": {s: peer_label(parse_peer(s)) for s in a.peers}, "reference": st_spec,
            "runs": runs, "gpu": "no GPU lent to this task: bf16 / tokens/s / MFU runs not done"}
    comparisons = {}
    for spec in a.peers:
        if spec == st_spec:
            continue
        comp = {}
        for metric in ("examples_per_s", "examples_per_cpu_s"):
            per = [h[metric] / s[metric] for h, s in zip(runs[spec], runs[st_spec])]
            comp[metric] = {"ratio_per_pair": per, "ratio_median_of_pairs": statistics.median(per)}
        comp["final_loss_abs_diff"] = abs(runs[spec][-1]["training_loss"] - runs[st_spec][-1]["training_loss"])
        comparisons[spec] = comp
    data["comparisons"] = comparisons
    data["median"] = {s: {m: statistics.median(r[m] for r in rs) for m in ("examples_per_s", "examples_per_cpu_s")}
                      for s, rs in runs.items()}
    data["peak_rss_mib"] = {s: max(r["peak_rss_mib"] for r in rs) for s, rs in runs.items()}
    md = render(data)
    print(md)
    j, m = write_results(a.name, data, md)
    print(f"wrote {j} and {m}")


def main_memory(a, peers: list[dict]) -> None:
    settings = {"model": str(Path(a.model).resolve().name), "steps": a.steps, "batch_sizes": a.batch_sizes,
                "max_length": a.max_length, "precision": "fp32", "fine_tuning": "LoRA" if a.lora else "full",
                "optimizer": "AdamW", "torch_threads": a.threads, "peers": a.peers, "plain_max": a.plain_max}
    import torch

    torch.set_num_threads(a.threads)  # the driver's machine record shows the workers' thread count
    machine = machine_info()
    print_header("training memory: peak RSS per global batch (CPU)", settings, machine)
    runs: dict[str, dict[str, dict]] = {s: {} for s in a.peers}
    skipped: list[str] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for bs in a.batch_sizes:
            for peer in peers:
                spec = peer["spec"]
                if peer["kind"] != "hf":
                    sys.exit("error: --memory runs hf* peers only")
                if peer["mini_batch_size"] is None and bs > a.plain_max:
                    skipped.append(f"{spec} at batch {bs}")
                    continue
                result_file = os.path.join(tmp, f"{bs}-{abs(hash(spec))}.json")
                try:
                    res = _run_worker(_worker_cmd(a, spec, bs, os.devnull, result_file), result_file)
                except subprocess.CalledProcessError as e:  # e.g. SIGKILL from the kernel's out-of-memory killer
                    failed.append(f"{spec} at batch {bs}: worker exited with {e.returncode} "
                                  f"({'SIGKILL, most likely out of memory' if e.returncode == -9 else 'error'})")
                    print("  " + failed[-1], flush=True)
                else:
                    runs[spec][str(bs)] = res
                    print(f"  {spec} batch {bs}: peak RSS {res['peak_rss_mib']:.0f} MiB (before training "
                          f"{res['rss_before_train_mib']:.0f}), {res['examples_per_cpu_s']:.2f} examples/CPU-s "
                          f"(load {res['loadavg_1min_before']})", flush=True)
                _write_memory(a, settings, machine, runs, skipped, failed)  # partial results survive an interrupt
    _write_memory(a, settings, machine, runs, skipped, failed, show=True)


def _write_memory(a, settings, machine, runs, skipped, failed, show=False) -> None:
    data = {"benchmark": "train_memory", "machine": machine, "settings": settings, "command": _command(a),
            "peers": {s: peer_label(parse_peer(s)) for s in a.peers}, "runs": runs, "failed": failed,
            "skipped": skipped + [f"{s} above batch {a.plain_max} (plain training holds the whole batch's activations: see "
                                  f"its growth up to batch {a.plain_max}; not run, to bound time and memory)"
                                  for s in a.peers if parse_peer(s)["mini_batch_size"] is None]}
    md = render_memory(data)
    j, m = write_results(a.name, data, md)
    if show:
        print(md)
        print(f"wrote {j} and {m}")


def render_memory(data: dict) -> str:
    sizes = [str(b) for b in sorted(data["settings"]["batch_sizes"])]
    md = ["# Training memory (CPU): peak RSS per global batch", "", f"Command: `{data['command']}`", "", "Machine:",
          machine_markdown(data["machine"]), "",
          "Settings: " + ", ".join(f"{k}={v}" for k, v in data["settings"].items()), "",
          "Peak RSS of the training subprocess (MiB; model, AdamW state, data and activations), and in brackets "
          "the growth above the RSS at the start of training (what the batch adds: activations, gradients, "
          "optimizer state created at the first step).", "",
          "| trainer | " + " | ".join(f"batch {b}" for b in sizes) + f" | growth {sizes[0]} -> {sizes[-1]} |",
          "|---|" + "---:|" * (len(sizes) + 1)]
    for spec, label in data["peers"].items():
        r = data["runs"].get(spec, {})
        cells = [f"{r[b]['peak_rss_mib']:.0f} (+{r[b]['peak_rss_mib'] - r[b]['rss_before_train_mib']:.0f})"
                 if b in r else "not run" for b in sizes]
        growth = (f"{r[sizes[-1]]['peak_rss_mib'] / r[sizes[0]]['peak_rss_mib']:.2f}x"
                  if sizes[0] in r and sizes[-1] in r else "-")
        md.append(f"| {label} | " + " | ".join(cells) + f" | {growth} |")
    md += ["", "Load (1-min average before each run): " + "; ".join(
        f"{spec} b{b}: {r['loadavg_1min_before']}" for spec, rs in data["runs"].items() for b, r in rs.items()), ""]
    if data.get("note"):
        md.append("Note: " + data["note"])
    if data.get("failed"):
        md.append("Failed: " + "; ".join(data["failed"]) + ".")
    if data.get("skipped"):
        md.append("Not run: " + "; ".join(data["skipped"]) + ".")
    missing = [f"{s} at batch {b}" for s in data["peers"] for b in sizes if b not in data["runs"].get(s, {})]
    if missing:
        md.append("Missing from this file (not run, failed, or the run was interrupted before it): "
                  + "; ".join(missing) + ".")
    return "\n".join(md)


def render(data: dict) -> str:
    """Markdown of a results JSON (``--render`` rebuilds it without re-measuring)."""
    if data.get("benchmark") == "train_memory":
        return render_memory(data)
    if "peers" not in data:  # results written before --peers existed: one hf and one st peer
        return render_legacy(data)
    runs, peers, ref = data["runs"], data["peers"], data["reference"]
    md = ["# Training throughput (CPU): hf_hybrid vs sentence-transformers", "",
          f"Command: `{data['command']}`", "", "Machine:", machine_markdown(data["machine"]), "",
          "Settings: " + ", ".join(f"{k}={v}" for k, v in data["settings"].items()), "",
          f"Same pairs in the same order verified by hash: {data['same_pairs_verified']}. Final training loss (mean over "
          "the steps, last run): " + ", ".join(f"{s} {rs[-1]['training_loss']:.6f}" for s, rs in runs.items()) + ".", "",
          "| trainer | examples/s (median of runs) | examples per CPU-s (median) | peak RSS MiB | **ratio / "
          f"{ref}** wall (median of pairs; per pair) | **ratio per CPU-s** (median; per pair) | final loss diff vs {ref} |",
          "|---|---:|---:|---:|---:|---:|---:|"]
    for spec, label in peers.items():
        med, comp = data["median"][spec], data["comparisons"].get(spec)
        row = f"| `{spec}`: {label} | {med['examples_per_s']:.2f} | {med['examples_per_cpu_s']:.2f} | {data['peak_rss_mib'][spec]:.0f} | "
        if comp:
            row += " | ".join(f"**{comp[m]['ratio_median_of_pairs']:.3f}** ({', '.join(f'{x:.3f}' for x in comp[m]['ratio_per_pair'])})"
                              for m in ("examples_per_s", "examples_per_cpu_s")) + f" | {comp['final_loss_abs_diff']:.2e} |"
        else:
            row += "reference | reference | 0 |"
        md.append(row)
    md += ["", "Per run, in the order they ran (examples/s wall; examples/CPU-s; 1-min load average before/after):", ""]
    for spec, rs in runs.items():
        md.append(f"- `{spec}`: " + "; ".join(f"{r['examples_per_s']:.2f}, {r['examples_per_cpu_s']:.2f} "
                                              f"(load {r['loadavg_1min_before']}/{r.get('loadavg_1min_after', '?')})" for r in rs))
    md += ["", "The runs alternate (the peers in order, then in reverse order, ...) and each ratio compares runs of one "
           "repeat, which ran minutes apart under about the same load; their median is the headline. Examples per "
           "CPU-second counts only the time the process actually ran, so it is the fairer measure on a machine "
           "shared with other jobs.", "",
           "No GPU was lent to this task, so the bf16 / tokens/s / MFU runs on an XLM-R-base-sized encoder "
           "were not done."]
    return "\n".join(md)


def render_legacy(data: dict) -> str:
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
