"""Scale check of HybridBatchSampler: 10 million groups x 20 languages.

Prints, per layout, the time to construct the sampler and yield the first 1,000 global steps (in the
accelerate layout, i.e. W x 1,000 per-rank batches), and the extra memory: the RSS delta read from
/proc/self/status and the tracemalloc peak of numpy/Python allocations (measured in a second pass, so that
tracing does not slow the timed pass). Targets on a 2-core machine: <= 5 s and <= 500 MB, memory O(groups).

The peer measured in the same run is one ``numpy`` permutation of the group ids: the least work any
sampler that shuffles groups must do per epoch. The group index (masks + offsets, the input) is built
before measuring and reported separately.

Needs numpy >= 2 (np.bitwise_count, to build the synthetic layout; the sampler itself does not).

Usage: python benchmarks/sampler_scale.py [--groups 10000000] [--languages 20] [--steps 1000]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
import tracemalloc

import numpy as np

from hf_hybrid.sampling import GroupIndex, HybridBatchSampler


def rss_mb() -> float:
    """Resident set size of this process, from /proc (Linux); psutil-free."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # peak, the best fallback


def build_index(n_groups: int, n_langs: int, layout: str, seed: int = 0) -> GroupIndex:
    """Synthetic index: 'full' (every group in every language) or 'partial' (random subsets, >= 2 languages)."""
    dtype = np.uint32 if n_langs <= 32 else np.uint64
    full = (1 << n_langs) - 1
    if layout == "full":
        masks = np.full(n_groups, full, dtype=dtype)
    else:
        rng = np.random.default_rng(seed)
        masks = rng.integers(0, full + 1, size=n_groups, dtype=dtype)
        few = np.flatnonzero(np.bitwise_count(masks) < 2)
        a = rng.integers(0, n_langs, size=few.size)
        b = (a + 1 + rng.integers(0, n_langs - 1, size=few.size)) % n_langs
        masks[few] |= (dtype(1) << a.astype(dtype)) | (dtype(1) << b.astype(dtype))
    return GroupIndex.from_arrays(masks, None, [f"l{i:02d}" for i in range(n_langs)])


def run(index: GroupIndex, steps: int, kwargs: dict, resume_step: int = 0) -> tuple[float, float, int, float]:
    """Construct + yield `steps` global steps (from `resume_step`, via load_state_dict).

    Returns (construct seconds, total seconds, pairs yielded, RSS in MB while the sampler is still alive).
    """
    t0 = time.perf_counter()
    sampler = HybridBatchSampler(index, **kwargs)
    if resume_step:
        sampler.load_state_dict({"epoch": 0, "step": resume_step})
    t1 = time.perf_counter()
    n_batches = steps * (sampler.num_replicas if sampler.layout == "accelerate" else 1)
    pairs = 0
    iterator = iter(sampler)
    for i, batch in enumerate(iterator):
        pairs += len(batch)
        if i + 1 == n_batches:
            break
    t2 = time.perf_counter()
    rss = rss_mb()  # the sampler, its permutation and the suspended iterator are alive here
    return t1 - t0, t2 - t0, pairs, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=10_000_000)
    parser.add_argument("--languages", type=int, default=20)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--replicas", type=int, default=4)
    parser.add_argument("--layouts", default="full,partial")
    parser.add_argument("--strategies", default="hybrid,x-x-mono,x-x,x-y")
    args = parser.parse_args()

    import torch

    print("# HybridBatchSampler scale benchmark")
    print(f"machine: {os.cpu_count()} CPUs, {platform.platform()}, python {sys.version.split()[0]}, "
          f"numpy {np.__version__}, torch {torch.__version__}")
    print(f"settings: groups={args.groups:,} languages={args.languages} batch_size={args.batch_size} "
          f"num_replicas={args.replicas} (global batch {args.batch_size * args.replicas}) "
          f"first {args.steps:,} global steps = {args.steps * args.replicas:,} batches (accelerate layout), "
          "alpha=0.5, uniform language weights, seed=0")
    print("targets: construct + first steps <= 5 s, extra memory <= 500 MB\n")
    header = (f"{'layout':8} {'strategy':9} {'construct s':>11} {'total s':>8} {'x permutation':>13} "
              f"{'RSS delta MB':>12} {'traced peak MB':>14} {'pairs':>9} {'ok':>3}")
    worst_ok = True
    for layout in args.layouts.split(","):
        gc.collect()
        r0 = rss_mb()
        t = time.perf_counter()
        index = build_index(args.groups, args.languages, layout)
        t_index = time.perf_counter() - t
        index_mb = (index.masks.nbytes + index.offsets.nbytes) / 2**20
        rows = int(np.bitwise_count(index.masks).sum())
        print(f"[{layout}] index: {rows:,} (group, language) rows, masks+offsets {index_mb:.0f} MB "
              f"(RSS +{rss_mb() - r0:.0f} MB), built in {t_index:.2f} s")
        t = time.perf_counter()
        np.random.default_rng(0).permutation(args.groups)
        t_perm = time.perf_counter() - t
        print(f"[{layout}] peer: one numpy permutation of {args.groups:,} ids: {t_perm:.2f} s")
        print(header)
        for strategy in args.strategies.split(","):
            kwargs = dict(batch_size=args.batch_size, strategy=strategy, alpha=0.5, seed=0,
                          num_replicas=args.replicas, rank=0)
            gc.collect()
            before = rss_mb()
            t_construct, t_total, pairs, during = run(index, args.steps, kwargs)
            delta = during - before
            tracemalloc.start()
            run(index, args.steps, kwargs)
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            ok = t_total <= 5.0 and max(delta, peak) <= 500
            worst_ok &= ok
            print(f"{layout:8} {strategy:9} {t_construct:11.2f} {t_total:8.2f} {t_total / t_perm:12.1f}x "
                  f"{delta:12.0f} {peak:14.0f} {pairs:9,} {'yes' if ok else 'NO':>3}")
        # Resuming mid-epoch positions the streams by counting (numpy over the permutation), no replay.
        kwargs = dict(batch_size=args.batch_size, strategy="hybrid", alpha=0.5, seed=0, num_replicas=args.replicas,
                      rank=0)
        resume_at = HybridBatchSampler(index, **kwargs).steps_per_epoch // 2
        _, t_resume, _, _ = run(index, 1, kwargs, resume_step=resume_at)
        print(f"[{layout}] hybrid: construct + load_state_dict(step={resume_at:,}) + first step: {t_resume:.2f} s")
        del index
        print()
    print("all within targets" if worst_ok else "SOME RUNS MISSED THE TARGETS")


if __name__ == "__main__":
    main()
