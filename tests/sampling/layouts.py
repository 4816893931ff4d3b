"""Synthetic parallel-group layouts and batch checkers shared by the sampling tests.

Batches are checked by decoding every yielded ``(query_row, passage_row)`` pair back to the dataset's
``group_id`` / ``lang`` columns, so a wrong row offset shows up as a wrong group or language, not as a
silently plausible batch. Import as ``from sampling.layouts import ...`` (tests/ is on sys.path).
"""

from __future__ import annotations

from collections import Counter

import datasets
import numpy as np
from hypothesis import HealthCheck, settings

from hf_hybrid.sampling import BatchKind, GroupIndex, HybridBatchSampler


LANGS7 = ["ar", "de", "en", "es", "hi", "vi", "zh"]  # MLQA-R's languages


FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def make_layout(lang_sets: list[list[str]], shuffle_seed: int | None = 0, negatives: bool = True) -> datasets.Dataset:
    """Canonical dataset with one row per (group, language); rows shuffled so row_perm is exercised."""
    rows = []
    for g, langs in enumerate(lang_sets):
        for lang in langs:
            row = {"group_id": f"g{g}", "lang": lang, "query": f"q-{g}-{lang}", "positive": f"p-{g}-{lang}",
                   "article": f"a{g % 5}"}
            if negatives:
                row["negatives"] = [f"n-{g}-{lang}"]
            rows.append(row)
    if shuffle_seed is not None:
        order = np.random.default_rng(shuffle_seed).permutation(len(rows))
        rows = [rows[i] for i in order]
    return datasets.Dataset.from_list(rows)


def random_lang_sets(n_groups: int, rng: np.random.Generator, lo: int = 2, hi: int = 4,
                     langs: list[str] = LANGS7) -> list[list[str]]:
    """MLQA-R-like partial coverage: each group has lo..hi of the languages."""
    out = []
    for _ in range(n_groups):
        k = int(rng.integers(lo, hi + 1))
        out.append([langs[i] for i in sorted(rng.choice(len(langs), size=k, replace=False))])
    return out


class Decoder:
    """Row -> (group, lang) of a dataset, to check what the sampler yields."""

    def __init__(self, ds: datasets.Dataset) -> None:
        self.group = list(ds["group_id"])
        self.lang = list(ds["lang"])
        self.langs_of: dict[str, set[str]] = {}
        for g, lang in zip(self.group, self.lang):
            self.langs_of.setdefault(g, set()).add(lang)

    def kind_of(self, pairs: list[tuple[int, int]]) -> tuple[str, str | None]:
        """Check the pairs of one global batch and return its kind; asserts every invariant on the way."""
        groups = [self.group[q] for q, _ in pairs]
        assert len(set(groups)) == len(groups), f"duplicate group in a global batch: {Counter(groups).most_common(2)}"
        for q, p in pairs:
            assert self.group[q] == self.group[p], "query and passage rows of a pair belong to different groups"
        q_langs = [self.lang[q] for q, _ in pairs]
        p_langs = [self.lang[p] for _, p in pairs]
        if all(q == p for q, p in pairs):
            if len(set(q_langs)) == 1 and len(pairs) > 1:
                return BatchKind.MONO, q_langs[0]  # (a 1-pair x-x batch is indistinguishable; callers handle it)
            return BatchKind.X_X, None
        assert all(a != b for a, b in zip(q_langs, p_langs)), "a cross batch holds a monolingual pair"
        return BatchKind.CROSS, None


def global_batches(batches: list[list[tuple[int, int]]], w: int) -> list[list[tuple[int, int]]]:
    """Accelerate layout: consecutive W batches are the rank slices of one global step."""
    assert len(batches) % w == 0
    return [sum(batches[i:i + w], []) for i in range(0, len(batches), w)]


def assert_kind(sampler: HybridBatchSampler, decoder: Decoder, step: int, pairs, epoch: int | None = None) -> None:
    kind, lang = sampler.batch_kind(step, epoch)
    seen_kind, seen_lang = decoder.kind_of(pairs)
    if kind == BatchKind.MONO:
        assert {decoder.lang[q] for q, _ in pairs} == {lang} and all(q == p for q, p in pairs)
    elif kind == BatchKind.X_X:
        assert all(q == p for q, p in pairs)
    else:
        assert seen_kind == BatchKind.CROSS


def arrays_layout(n_groups: int, n_langs: int, rng: np.random.Generator, lo: int, hi: int):
    """A GroupIndex from arrays plus row -> (group, lang) decoding arrays (no datasets, for big counts)."""
    masks = np.zeros(n_groups, dtype=np.uint64)
    ks = rng.integers(lo, hi + 1, size=n_groups)
    for k in range(lo, hi + 1):
        sel = np.flatnonzero(ks == k)
        if sel.size:
            chosen = np.argsort(rng.random((sel.size, n_langs)), axis=1)[:, :k]
            masks[sel] = np.bitwise_or.reduce(np.uint64(1) << chosen.astype(np.uint64), axis=1)
    index = GroupIndex.from_arrays(masks, None, [f"l{i}" for i in range(n_langs)])
    n_rows = int(np.unpackbits(masks.view(np.uint8)).sum())  # popcount that numpy < 2 also has
    row_group = np.full(n_rows, -1)
    row_lang = np.full(n_rows, -1)
    for bit in range(n_langs):
        groups = np.flatnonzero((masks >> np.uint64(bit)) & np.uint64(1))
        rows = index.rows(groups, bit)
        row_group[rows], row_lang[rows] = groups, bit
    assert (row_group >= 0).all()
    return index, masks, row_group, row_lang
