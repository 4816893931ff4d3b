"""Shared pieces of the evaluation tests (``from retrieval_fixtures import ...``; tests/ is on sys.path).

Random LAReQA-like pools for comparing the metrics with references, a flattener for approximate comparison
of nested metric dicts, a tiny hand-checkable pool, and a deterministic fake encoder.
"""

from __future__ import annotations

import hashlib

import numpy as np

from hf_hybrid.data import RetrievalPool


def random_pool(rng, nq_groups=12, langs=("de", "en", "zh"), distractors=5, tie_levels=None, coverage=1.0):
    """Queries per (group, language the group has); one answer per (group, lang), some shared, some distractors."""
    qg, ql, cg, cl = [], [], [], []
    for g in range(nq_groups):
        have = [x for x in langs if rng.random() < coverage] or [langs[0]]
        for x in have:
            qg.append(f"g{g}")
            ql.append(x)
            if cg and rng.random() < 0.2 and cl[-1] == x:  # this sentence also answers the previous group
                cg[-1] = cg[-1] + (f"g{g}",)
            else:
                cg.append((f"g{g}",))
                cl.append(x)
    for i in range(distractors):
        cg.append(())
        cl.append(langs[i % len(langs)])
    perm = rng.permutation(len(cg))  # interleave languages: the core must not assume sorted candidates
    cg, cl = [cg[i] for i in perm], [cl[i] for i in perm]
    shape = (len(qg), len(cg))
    S = rng.integers(0, tie_levels, shape).astype(np.float64) if tie_levels else rng.standard_normal(shape)
    return S, qg, cg, ql, cl


def flatten(obj, prefix=""):
    """Nested dict/list -> {path: value} with None as NaN, for approximate comparison."""
    if isinstance(obj, dict):
        return {k: v for key, val in obj.items() for k, v in flatten(val, f"{prefix}{key}/").items()}
    if isinstance(obj, list):
        return {k: v for i, val in enumerate(obj) for k, v in flatten(val, f"{prefix}{i}/").items()}
    return {prefix: obj if not isinstance(obj, (int, float)) or isinstance(obj, bool) else float(obj)} if obj is not None else {prefix: "None"}


def tiny_pool() -> RetrievalPool:
    return RetrievalPool(
        query_ids=["g1/en", "g1/de", "g2/en"], query_groups=["g1", "g1", "g2"], query_langs=["en", "de", "en"],
        query_texts=["where is A?", "wo ist A?", "what is B?"],
        cand_ids=["en/0", "en/1", "de/0", "de/1"], cand_groups=[("g1",), ("g2",), ("g1", "g2"), ()],
        cand_langs=["en", "en", "de", "de"], cand_texts=["A is here.", "B is this.", "A hier, B das.", "Nichts."],
        name="tiny",
    )


class FakeEncoder:
    """Deterministic text -> unit vector (hash-seeded); counts what it encodes."""

    fingerprint = "fake-encoder-v1"

    def __init__(self, dim=16):
        self.dim = dim
        self.encoded: list[str] = []

    def _vec(self, text, salt):
        seed = int.from_bytes(hashlib.sha256((salt + text).encode()).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return v / np.linalg.norm(v)

    def encode_queries(self, texts, batch_size=32, show_progress_bar=None):
        self.encoded += list(texts)
        return np.stack([self._vec(t, "") for t in texts])

    def encode_passages(self, texts, batch_size=32, show_progress_bar=None):
        self.encoded += list(texts)
        return np.stack([self._vec(t, "") for t in texts])
