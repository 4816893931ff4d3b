"""HybridBatchSampler: the design.md section 2 invariants, under accelerate sharding, resumable.

Batches are checked by decoding every yielded ``(query_row, passage_row)`` pair back to the dataset's
``group_id`` / ``lang`` columns, so a wrong row offset shows up as a wrong group or language, not as a
silently plausible batch.
"""

from __future__ import annotations

import json
import math
import warnings
from collections import Counter

import datasets
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader

from hf_hybrid.sampler import (
    KIND_CROSS,
    KIND_MIXED,
    KIND_MONO,
    GroupIndex,
    HybridBatchSampler,
    PairDataset,
)

LANGS7 = ["ar", "de", "en", "es", "hi", "vi", "zh"]  # MLQA-R's languages
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ----------------------------------------------------------------------------------------- helpers


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
                return KIND_MONO, q_langs[0]  # (a 1-pair x-x batch is indistinguishable; callers handle it)
            return KIND_MIXED, None
        assert all(a != b for a, b in zip(q_langs, p_langs)), "a cross batch holds a monolingual pair"
        return KIND_CROSS, None


def global_batches(batches: list[list[tuple[int, int]]], w: int) -> list[list[tuple[int, int]]]:
    """Accelerate layout: consecutive W batches are the rank slices of one global step."""
    assert len(batches) % w == 0
    return [sum(batches[i:i + w], []) for i in range(0, len(batches), w)]


def assert_kind(sampler: HybridBatchSampler, decoder: Decoder, step: int, pairs, epoch: int | None = None) -> None:
    kind, lang = sampler.batch_kind(step, epoch)
    seen_kind, seen_lang = decoder.kind_of(pairs)
    if kind == KIND_MONO:
        assert {decoder.lang[q] for q, _ in pairs} == {lang} and all(q == p for q, p in pairs)
    elif kind == KIND_MIXED:
        assert all(q == p for q, p in pairs)
    else:
        assert seen_kind == KIND_CROSS


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


# ----------------------------------------------------------------------------------------- GroupIndex


def test_group_index_maps_every_group_language_to_its_row_in_a_shuffled_dataset():
    sets = random_lang_sets(30, np.random.default_rng(1), lo=1, hi=7)
    ds = make_layout(sets, shuffle_seed=3)
    index = GroupIndex.from_dataset(ds)
    assert index.languages == tuple(sorted(LANGS7)) and index.n_groups == 30 and index.row_perm is not None
    dec = Decoder(ds)
    seen = set()
    for g in range(index.n_groups):
        gid = index.group_ids[g]
        bits = [b for b in range(7) if int(index.masks[g]) >> b & 1]
        assert {index.languages[b] for b in bits} == dec.langs_of[gid]
        for b in bits:
            row = int(index.rows(np.array([g]), b)[0])
            assert (dec.group[row], dec.lang[row]) == (gid, index.languages[b])
            seen.add(row)
    assert seen == set(range(len(ds)))
    counts = index.language_counts()
    assert counts.tolist() == [sum(lang in s for s in sets) for lang in index.languages]


def test_group_index_of_a_sorted_dataset_needs_no_row_permutation():
    ds = make_layout([["de", "en"], ["en"], ["ar", "zh"]], shuffle_seed=None)
    index = GroupIndex.from_dataset(ds)
    assert index.row_perm is None
    assert index.offsets.tolist() == [0, 2, 3]


@FAST
@given(n_langs=st.integers(1, 64), n_groups=st.integers(1, 50), seed=st.integers(0, 2**32 - 1))
def test_group_index_from_arrays_rows_enumerate_the_canonical_order(n_langs, n_groups, seed):
    rng = np.random.default_rng(seed)
    masks = rng.integers(0, 2**62, size=n_groups, dtype=np.uint64) & np.uint64((1 << n_langs) - 1)
    index = GroupIndex.from_arrays(masks, None, [f"x{i}" for i in range(n_langs)])
    expected = 0
    for g in range(n_groups):
        for b in range(n_langs):
            if int(masks[g]) >> b & 1:
                assert int(index.rows(np.array([g]), b)[0]) == expected
                expected += 1


def test_popcount_fallback_for_numpy_1_matches(monkeypatch):
    from hf_hybrid import sampler as mod

    values = np.random.default_rng(0).integers(0, 2**63, size=1000, dtype=np.uint64)
    values[:3] = [0, 1, np.uint64(2**64 - 1)]
    expected = [bin(int(v)).count("1") for v in values]
    monkeypatch.delattr(np, "bitwise_count", raising=False)
    assert mod._popcount(values).tolist() == expected
    assert mod._popcount(values.astype(np.uint32)).tolist() == [bin(int(v) & 0xFFFFFFFF).count("1") for v in values]


def test_group_index_rejects_bad_arrays_and_duplicate_rows():
    with pytest.raises(ValueError, match="a mask uses bit 3 but only 2 languages"):
        GroupIndex.from_arrays(np.array([8]), None, ["a", "b"])
    with pytest.raises(ValueError, match="offsets overlap at group 1"):
        GroupIndex.from_arrays(np.array([3, 1]), np.array([0, 1]), ["a", "b"])
    with pytest.raises(ValueError, match="duplicate language codes"):
        GroupIndex.from_arrays(np.array([1]), None, ["a", "a"])
    dup = datasets.Dataset.from_list([{"group_id": "q1", "lang": "en"}, {"group_id": "q2", "lang": "en"},
                                      {"group_id": "q1", "lang": "en"}])
    with pytest.raises(ValueError, match=r"group 'q1' has two rows in language 'en' \(rows 0 and 2"):
        GroupIndex.from_dataset(dup)
    with pytest.raises(ValueError, match="no column 'lang'"):
        GroupIndex.from_dataset(datasets.Dataset.from_list([{"group_id": "q", "language": "en"}]))


# ----------------------------------------------------------------------------------------- invariants


@FAST
@given(
    n_groups=st.integers(24, 60),
    layout_seed=st.integers(0, 10_000),
    strategy=st.sampled_from(["hybrid", "x-x-mono", "x-x", "x-y"]),
    w=st.integers(1, 3),
    b=st.integers(1, 2),
    alpha=st.floats(0, 1),
    seed=st.integers(0, 2**40),
    epoch=st.integers(0, 3),
    drop_last=st.booleans(),
    resume_frac=st.floats(0, 1),
)
def test_invariants_on_random_partial_coverage_layouts(n_groups, layout_seed, strategy, w, b, alpha, seed, epoch,
                                                        drop_last, resume_frac):
    ds = make_layout(random_lang_sets(n_groups, np.random.default_rng(layout_seed)), shuffle_seed=layout_seed,
                     negatives=False)
    index = GroupIndex.from_dataset(ds)
    dec = Decoder(ds)
    kw = dict(strategy=strategy, alpha=alpha, seed=seed, drop_last=drop_last, num_replicas=w)
    try:
        sampler = HybridBatchSampler(index, b, rank=0, **kw)
    except ValueError as err:  # too few groups in some language for this W x B: must be genuine
        assert "fewer groups" in str(err)
        assert min(index.language_counts()) < w * b
        event("rejected: a language has fewer than W x B groups")
        return
    event(f"strategy {strategy}")
    sampler.set_epoch(epoch)
    n_eligible = n_groups  # every group has 2-4 languages: eligible for every strategy
    steps = n_eligible // (w * b) if drop_last else math.ceil(n_eligible / (w * b))
    assert sampler.steps_per_epoch == steps and len(sampler) == steps * w

    batches = list(sampler)
    assert len(batches) == len(sampler) and all(len(x) == b for x in batches)
    full = global_batches(batches, w)
    used = Counter()
    for step, pairs in enumerate(full):
        assert_kind(sampler, dec, step, pairs)
        used.update(dec.group[q] for q, _ in pairs)
        for q, p in pairs:  # a language only among those the group has (rows are real rows of the group)
            assert dec.lang[q] in dec.langs_of[dec.group[q]] and dec.lang[p] in dec.langs_of[dec.group[p]]
    if strategy in ("x-x", "x-y") and drop_last:
        assert max(used.values()) == 1  # one epoch visits each group at most once

    # per-rank layout: rank r yields exactly slice r of the same global batches
    for r in range(w):
        per_rank = _per_rank(index, b, r, epoch, kw)
        assert per_rank == [g[r * b:(r + 1) * b] for g in full]

    # determinism per (seed, epoch), also from a fresh object
    again = HybridBatchSampler(index, b, rank=0, **kw)
    again.set_epoch(epoch)
    assert list(again) == batches

    # resume at step k: exactly the remaining batches
    k = int(resume_frac * steps)
    resumed = HybridBatchSampler(index, b, rank=w - 1, **kw)
    resumed.load_state_dict({"epoch": epoch, "step": k})
    assert list(resumed) == batches[k * w:]


def _per_rank(index, b, r, epoch, kw):
    s = HybridBatchSampler(index, b, rank=r, layout="per_rank", **kw)
    s.set_epoch(epoch)
    assert len(s) == s.steps_per_epoch
    return list(s)


def test_xy_skips_single_language_groups_with_a_warning_and_never_samples_them():
    rng = np.random.default_rng(5)
    sets = random_lang_sets(30, rng) + [["en"], ["de"], ["zh"]]
    ds = make_layout(sets)
    dec = Decoder(ds)
    with pytest.warns(UserWarning, match=r"3 of 33 groups have a single language .* skipped for x-y"):
        sampler = HybridBatchSampler(ds, 3, strategy="x-y", num_replicas=2, rank=0, seed=1)
    assert sampler.n_single_language_groups == 3 and sampler.steps_per_epoch == 30 // 6
    for epoch in range(4):
        sampler.set_epoch(epoch)
        for pairs in global_batches(list(sampler), 2):
            assert dec.kind_of(pairs)[0] == KIND_CROSS
            assert not {dec.group[q] for q, _ in pairs} & {"g30", "g31", "g32"}


def test_hybrid_uses_single_language_groups_only_in_mono_batches():
    sets = [["en", "de"]] * 12 + [["en"]] * 12
    ds = make_layout(sets)
    dec = Decoder(ds)
    with pytest.warns(UserWarning, match=r"12 of 24 groups .*\(hybrid still uses them in x-x-mono batches\)"):
        sampler = HybridBatchSampler(ds, 2, strategy="hybrid", alpha=0.5, num_replicas=2, rank=0, seed=3)
    singles = {f"g{i}" for i in range(12, 24)}
    kinds = Counter()
    for epoch in range(6):
        sampler.set_epoch(epoch)
        for step, pairs in enumerate(global_batches(list(sampler), 2)):
            assert_kind(sampler, dec, step, pairs)
            kind = sampler.batch_kind(step)[0]
            kinds[kind] += 1
            if kind == KIND_CROSS:
                assert not {dec.group[q] for q, _ in pairs} & singles
    assert kinds[KIND_MONO] and kinds[KIND_CROSS]


def test_language_subset_restricts_every_draw():
    ds = make_layout(random_lang_sets(60, np.random.default_rng(2)))
    dec = Decoder(ds)
    for strategy in ("x-x", "x-y", "x-x-mono", "hybrid"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            sampler = HybridBatchSampler(ds, 2, strategy=strategy, languages=["en", "de", "zh"], num_replicas=1,
                                         rank=0, seed=7)
        assert sampler.languages == ("de", "en", "zh")
        for pairs in sampler:
            for q, p in pairs:
                assert dec.lang[q] in {"en", "de", "zh"} and dec.lang[p] in {"en", "de", "zh"}


def test_real_mlqa_r_hybrid_keeps_the_invariants():
    from conftest import shared_dataset
    from hf_hybrid.data import load_lareqa

    ds = load_lareqa(shared_dataset("mlqa-r"))
    dec = Decoder(ds)
    sampler = HybridBatchSampler(ds, 16, strategy="hybrid", alpha=0.5, num_replicas=3, rank=0, seed=11)
    assert sampler.steps_per_epoch == len(set(dec.group)) // 48
    for step, pairs in enumerate(global_batches(list(sampler), 3)):
        assert_kind(sampler, dec, step, pairs)


# ----------------------------------------------------------------------------------------- accelerate


def _prepared_batches(ds, w: int, layout: str, epoch: int = 0, **kw):
    """Per-rank batches after accelerate's real dataloader preparation (BatchSamplerShard, split_batches=False)."""
    from accelerate.data_loader import prepare_data_loader

    out, loaders = [], []
    for r in range(w):
        sampler = HybridBatchSampler(ds, 2, num_replicas=w, rank=r, layout=layout, **kw)
        loader = DataLoader(PairDataset(ds), batch_sampler=sampler, collate_fn=list)
        prepared = prepare_data_loader(loader, num_processes=w, process_index=r, put_on_device=False)
        prepared.batch_sampler.batch_sampler.set_epoch(epoch)  # what the HF Trainer reaches for
        out.append(list(prepared))
        loaders.append(prepared)
    return out, loaders


@pytest.mark.parametrize("w", [2, 3])
def test_accelerate_prepare_data_loader_gives_each_rank_its_slice_of_one_global_batch(w):
    ds = make_layout(random_lang_sets(90, np.random.default_rng(w)))
    kw = dict(strategy="hybrid", alpha=0.5, seed=4)
    for epoch in (0, 1):
        per_rank, loaders = _prepared_batches(ds, w, "accelerate", epoch=epoch, **kw)
        reference = HybridBatchSampler(ds, 2, num_replicas=w, rank=0, **kw)
        reference.set_epoch(epoch)
        expected = global_batches(list(reference), w)
        steps = reference.steps_per_epoch
        assert steps == 90 // (2 * w)
        assert all(len(batches) == steps == len(loaders[r]) for r, batches in enumerate(per_rank))
        kinds = Counter()
        for step in range(steps):
            examples = [ex for r in range(w) for ex in per_rank[r][step]]
            groups = [ex["group_id"] for ex in examples]
            assert len(set(groups)) == len(groups) == 2 * w  # one duplicate-free global batch
            kind, lang = reference.batch_kind(step)
            kinds[kind] += 1
            if kind == KIND_MONO:
                assert {ex["query_lang"] for ex in examples} == {ex["passage_lang"] for ex in examples} == {lang}
            else:
                assert all(ex["query_lang"] != ex["passage_lang"] for ex in examples)
            for r in range(w):  # rank r holds exactly slice r of the global batch
                want = expected[step][r * 2:(r + 1) * 2]
                assert [(ex["query"], ex["positive"]) for ex in per_rank[r][step]] == [
                    (ds[q]["query"], ds[p]["positive"]) for q, p in want]
        assert kinds[KIND_MONO] and kinds[KIND_CROSS]


def test_per_rank_layout_under_accelerate_sharding_is_the_trap_the_default_avoids():
    """Negative control: the checker above does catch the design.md trap (ranks on different steps)."""
    ds = make_layout(random_lang_sets(90, np.random.default_rng(2)))
    per_rank, _ = _prepared_batches(ds, 2, "per_rank", strategy="hybrid", alpha=0.5, seed=4)
    reference = HybridBatchSampler(ds, 2, num_replicas=2, rank=0, strategy="hybrid", alpha=0.5, seed=4)
    expected = global_batches(list(reference), 2)
    got = [[ex["query"] for r in range(2) for ex in per_rank[r][step]] for step in range(len(per_rank[0]))]
    want = [[ds[q]["query"] for q, _ in pairs] for pairs in expected[:len(got)]]
    assert len(per_rank[0]) == reference.steps_per_epoch // 2  # accelerate also halves the epoch
    assert got != want


def test_trainer_resume_through_skip_first_batches_gives_the_remaining_batches():
    from accelerate import skip_first_batches

    ds = make_layout(random_lang_sets(60, np.random.default_rng(9)))
    per_rank, loaders = _prepared_batches(ds, 2, "accelerate", epoch=1, strategy="hybrid", alpha=0.4, seed=8)
    for r in range(2):
        skipped = skip_first_batches(loaders[r], 4)
        assert list(skipped) == per_rank[r][4:]


# ----------------------------------------------------------------------------------------- state / epochs


def test_state_dict_mid_epoch_resumes_exactly_and_is_json():
    ds = make_layout(random_lang_sets(80, np.random.default_rng(4)))
    kw = dict(strategy="hybrid", alpha=0.5, seed=21, num_replicas=2)
    sampler = HybridBatchSampler(ds, 2, rank=0, **kw)
    sampler.set_epoch(3)
    full = list(sampler)
    it = iter(sampler)
    for _ in range(5):  # steps 0, 1 complete; slice 0 of step 2
        next(it)
    state = json.loads(json.dumps(sampler.state_dict()))
    assert state["epoch"] == 3 and state["step"] == 2
    fresh = HybridBatchSampler(ds, 2, rank=1, **kw)
    fresh.load_state_dict(state)
    fresh.set_epoch(3)  # the Trainer calls set_epoch before iterating: the position must survive it
    assert list(fresh) == full[4:]
    assert fresh.state_dict()["step"] == fresh.steps_per_epoch
    assert list(fresh) == full  # a loaded position applies to one iteration only
    fresh.set_epoch(4)
    assert list(fresh) != full


def test_epochs_reshuffle_and_seeds_differ():
    ds = make_layout(random_lang_sets(60, np.random.default_rng(4)))
    a = HybridBatchSampler(ds, 2, strategy="x-x", num_replicas=1, rank=0, seed=1)
    e0 = list(a)
    a.set_epoch(1)
    assert list(a) != e0
    assert list(HybridBatchSampler(ds, 2, strategy="x-x", num_replicas=1, rank=0, seed=2)) != e0


def test_load_state_dict_rejects_a_state_from_another_configuration():
    ds = make_layout(random_lang_sets(60, np.random.default_rng(4)))
    state = HybridBatchSampler(ds, 4, num_replicas=1, rank=0).state_dict()
    with pytest.raises(ValueError, match="saved with batch_size=4, this sampler has batch_size=2"):
        HybridBatchSampler(ds, 2, num_replicas=1, rank=0).load_state_dict(state)
    with pytest.raises(ValueError, match="outside the epoch"):
        HybridBatchSampler(ds, 4, num_replicas=1, rank=0).load_state_dict({"epoch": 0, "step": 10**6})


def test_defaults_come_from_accelerate_partial_state():
    ds = make_layout(random_lang_sets(30, np.random.default_rng(4)))
    sampler = HybridBatchSampler(ds, 2)
    assert (sampler.num_replicas, sampler.rank, sampler.layout) == (1, 0, "accelerate")


# ----------------------------------------------------------------------------------------- statistics


def test_statistics_over_10000_hybrid_batches_mono_share_is_alpha():
    index, masks, row_group, row_lang = arrays_layout(80_000, 7, np.random.default_rng(0), 2, 4)
    sampler = HybridBatchSampler(index, 4, strategy="hybrid", alpha=0.3, num_replicas=2, rank=0, seed=123)
    assert sampler.steps_per_epoch == 10_000
    mono = 0
    for step, pairs in enumerate(global_batches(list(sampler), 2)):
        q = np.array([x for x, _ in pairs])
        p = np.array([y for _, y in pairs])
        assert len(set(row_group[q].tolist())) == 8 and (row_group[q] == row_group[p]).all()
        is_mono = bool((q == p).all() and len(set(row_lang[q].tolist())) == 1)
        assert is_mono == (sampler.batch_kind(step)[0] == KIND_MONO)
        assert is_mono or (row_lang[q] != row_lang[p]).all()
        mono += is_mono
    assert abs(mono / 10_000 - 0.3) <= 0.02


def test_statistics_mono_languages_follow_temperature_weights_on_imbalanced_data():
    rng = np.random.default_rng(1)
    n_langs = 7
    # imbalanced: language i present in a share (i+1)/8 of the groups (plus one more so each group has >= 1)
    present = rng.random((60_000, n_langs)) < (np.arange(n_langs) + 1) / 8
    present[np.arange(60_000), rng.integers(0, n_langs, 60_000)] = True
    masks = (present.astype(np.uint64) << np.arange(n_langs, dtype=np.uint64)).sum(axis=1).astype(np.uint64)
    index = GroupIndex.from_arrays(masks, None, [f"l{i}" for i in range(n_langs)])
    counts = present.sum(axis=0)
    tau = 2.0
    expected = counts ** (1 / tau) / (counts ** (1 / tau)).sum()
    sampler = HybridBatchSampler(index, 3, strategy="x-x-mono", language_weights="temperature", temperature=tau,
                                 num_replicas=2, rank=0, seed=5)
    assert sampler.steps_per_epoch == 10_000
    assert np.allclose(list(sampler.language_probabilities.values()), expected)
    freq = Counter(sampler.batch_kind(s)[1] for s in range(10_000))
    observed = np.array([freq[f"l{i}"] for i in range(n_langs)]) / 10_000
    assert np.abs(observed - expected).max() <= 0.02
    # and the yielded batches are those languages (check the first 500 steps' rows)
    lang_of = {}
    for bit in range(n_langs):
        groups = np.flatnonzero(present[:, bit])
        for row in index.rows(groups, bit).tolist():
            lang_of[row] = bit
    for step, pairs in enumerate(global_batches(list(sampler)[:1000], 2)):
        assert {f"l{lang_of[q]}" for q, _ in pairs} == {sampler.batch_kind(step)[1]}


def _expected_pair_frequencies(masks: np.ndarray, weights: np.ndarray, n_langs: int):
    """Query and passage language distributions implied by 'draw among the group's languages'."""
    q_exp = np.zeros(n_langs)
    p_exp = np.zeros(n_langs)
    for mask, count in zip(*np.unique(masks, return_counts=True)):
        have = [b for b in range(n_langs) if int(mask) >> b & 1]
        total = sum(weights[b] for b in have)
        for q in have:
            pq = weights[q] / total
            q_exp[q] += count * pq
            rest = total - weights[q]
            for p in have:
                if p != q and rest > 0:
                    p_exp[p] += count * pq * weights[p] / rest
    return q_exp / len(masks), p_exp / len(masks)


@pytest.mark.parametrize("strategy", ["x-x", "x-y"])
def test_statistics_pair_languages_follow_the_weights(strategy):
    # full coverage: frequencies equal the requested weights; partial coverage: the renormalised mixture
    weights = {"l0": 4.0, "l1": 2.0, "l2": 1.0, "l3": 1.0, "l4": 1.0, "l5": 0.5, "l6": 0.5}
    w = np.array(list(weights.values()))
    for lo in (7, 2):
        index, masks, row_group, row_lang = arrays_layout(40_000, 7, np.random.default_rng(lo), lo, 4 if lo == 2 else 7)
        sampler = HybridBatchSampler(index, 2, strategy=strategy, language_weights=weights, num_replicas=2,
                                     rank=0, seed=9)
        assert sampler.steps_per_epoch == 10_000
        pairs = np.array([pair for batch in sampler for pair in batch])
        q_lang, p_lang = row_lang[pairs[:, 0]], row_lang[pairs[:, 1]]
        assert (row_group[pairs[:, 0]] == row_group[pairs[:, 1]]).all()
        q_freq = np.bincount(q_lang, minlength=7) / len(pairs)
        if strategy == "x-x":
            assert (q_lang == p_lang).all()
            q_exp, _ = _expected_pair_frequencies(masks, w, 7)
            if lo == 7:
                assert np.allclose(q_exp, w / w.sum())
            assert np.abs(q_freq - q_exp).max() <= 0.02
        else:
            assert (q_lang != p_lang).all()
            q_exp, p_exp = _expected_pair_frequencies(masks, w, 7)
            p_freq = np.bincount(p_lang, minlength=7) / len(pairs)
            assert np.abs(q_freq - q_exp).max() <= 0.02 and np.abs(p_freq - p_exp).max() <= 0.02
            if lo == 7:
                assert np.abs(q_freq - w / w.sum()).max() <= 0.02


def test_linear_alpha_schedule():
    ds = make_layout(random_lang_sets(200, np.random.default_rng(3)))
    sampler = HybridBatchSampler(ds, 2, strategy="hybrid", alpha_schedule="linear", alpha_start=0.0, alpha_end=1.0,
                                 num_epochs=2, num_replicas=2, rank=0, seed=1)
    steps = sampler.steps_per_epoch
    assert sampler.total_steps == 2 * steps == 100
    assert sampler.current_alpha(0) == 0.0 and sampler.current_alpha(99) == 1.0 and sampler.current_alpha(500) == 1.0
    assert sampler.current_alpha(33) == pytest.approx(1 / 3)
    assert sampler.batch_kind(0, epoch=0)[0] == KIND_CROSS  # alpha 0: never mono
    assert sampler.batch_kind(steps - 1, epoch=1)[0] == KIND_MONO  # alpha 1: always mono
    dec = Decoder(ds)
    mono = []
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        for step, pairs in enumerate(global_batches(list(sampler), 2)):
            assert_kind(sampler, dec, step, pairs)
            mono.append(sampler.batch_kind(step)[0] == KIND_MONO)
    assert sum(mono[:25]) < sum(mono[-25:])


# ----------------------------------------------------------------------------------------- errors


@pytest.fixture(scope="module")
def small_ds():
    return make_layout(random_lang_sets(20, np.random.default_rng(0)))


@pytest.mark.parametrize("alpha", [1.5, -0.1])
def test_error_alpha_outside_unit_interval(small_ds, alpha):
    with pytest.raises(ValueError, match=rf"alpha={alpha} must be a probability in \[0, 1\]"):
        HybridBatchSampler(small_ds, 2, alpha=alpha, num_replicas=1, rank=0)
    with pytest.raises(ValueError, match=rf"alpha_end={alpha} must be a probability"):
        HybridBatchSampler(small_ds, 2, alpha_schedule="linear", alpha_start=0.0, alpha_end=alpha, total_steps=10,
                           num_replicas=1, rank=0)


def test_error_unknown_strategy_layout_schedule(small_ds):
    with pytest.raises(ValueError, match=r"unknown strategy='xy'; choose one of \['hybrid', 'x-x-mono', 'x-x', 'x-y'\]"):
        HybridBatchSampler(small_ds, 2, strategy="xy", num_replicas=1, rank=0)
    with pytest.raises(ValueError, match="unknown layout='ddp'"):
        HybridBatchSampler(small_ds, 2, layout="ddp", num_replicas=1, rank=0)
    with pytest.raises(ValueError, match="unknown alpha_schedule='cosine'"):
        HybridBatchSampler(small_ds, 2, alpha_schedule="cosine", num_replicas=1, rank=0)
    with pytest.raises(ValueError, match="alpha_schedule='linear' needs total_steps="):
        HybridBatchSampler(small_ds, 2, alpha_schedule="linear", alpha_start=0.2, alpha_end=0.8, num_replicas=1,
                           rank=0)
    with pytest.raises(ValueError, match="needs alpha_start= and alpha_end="):
        HybridBatchSampler(small_ds, 2, alpha_schedule="linear", total_steps=5, num_replicas=1, rank=0)


def test_error_batch_size_larger_than_eligible_groups(small_ds):
    with pytest.raises(ValueError, match=r"only 20 groups have a selected language, .*batch_size=11 x num_replicas=2"):
        HybridBatchSampler(small_ds, 11, strategy="x-x", num_replicas=2, rank=0)
    with pytest.raises(ValueError, match=r"only 20 groups have two or more languages"):
        HybridBatchSampler(small_ds, 21, strategy="x-y", num_replicas=1, rank=0)
    with pytest.raises(ValueError, match="batch_size=0 must be a positive integer"):
        HybridBatchSampler(small_ds, 0, num_replicas=1, rank=0)


def test_error_mono_batch_size_larger_than_a_language(small_ds):
    counts = Counter(small_ds["lang"])
    gb = min(counts.values()) + 1
    short = sorted(lang for lang, c in counts.items() if c < gb)
    listing = ", ".join(f"'{lang}': {counts[lang]}" for lang in short)
    with pytest.raises(ValueError, match=rf"these languages have fewer groups: \{{{listing}\}}"):
        HybridBatchSampler(small_ds, gb, strategy="x-x-mono", num_replicas=1, rank=0)
    with pytest.raises(ValueError, match="fewer groups"):
        HybridBatchSampler(small_ds, gb, strategy="hybrid", alpha=0.1, num_replicas=1, rank=0)
    # hybrid with alpha=0 never builds mono batches: no per-language requirement
    HybridBatchSampler(small_ds, gb, strategy="hybrid", alpha=0.0, num_replicas=1, rank=0)
    # leaving the short languages out makes it valid
    HybridBatchSampler(small_ds, gb, strategy="x-x-mono", languages=[x for x in counts if x not in short],
                       num_replicas=1, rank=0)


def test_error_xy_on_single_language_groups_only():
    ds = make_layout([["en"], ["de"], ["en"], ["zh"]])
    with pytest.raises(ValueError, match="no group has two or more of the languages .* all 4 groups have a single"):
        HybridBatchSampler(ds, 1, strategy="x-y", num_replicas=1, rank=0)
    with pytest.raises(ValueError, match="no group has two or more"):
        HybridBatchSampler(ds, 1, strategy="hybrid", alpha=0.5, num_replicas=1, rank=0)
    HybridBatchSampler(ds, 1, strategy="x-x", num_replicas=1, rank=0)  # fine without cross batches


def test_error_weights_and_languages_not_in_the_data(small_ds):
    with pytest.raises(ValueError, match=r"language_weights names \['fr'\], not in the data"):
        HybridBatchSampler(small_ds, 1, language_weights={"en": 1.0, "fr": 2.0}, num_replicas=1, rank=0)
    with pytest.raises(ValueError, match=r"languages=\['en', 'xx'\] names \['xx'\], not in the data"):
        HybridBatchSampler(small_ds, 1, languages=["en", "xx"], num_replicas=1, rank=0)
    with pytest.raises(ValueError, match=r"gives weight to \['de'\], which languages=\['en', 'zh'\] leaves out"):
        HybridBatchSampler(small_ds, 1, languages=["en", "zh"], language_weights={"de": 1.0}, num_replicas=1, rank=0)
    with pytest.raises(ValueError, match=r"language_weights\['en'\]=-1.0 must be a finite number >= 0"):
        HybridBatchSampler(small_ds, 1, language_weights={"en": -1.0}, num_replicas=1, rank=0)
    with pytest.raises(ValueError, match="no language has a positive sampling weight"):
        HybridBatchSampler(small_ds, 1, language_weights={"en": 0.0}, num_replicas=1, rank=0)
    with pytest.raises(ValueError, match="language_weights='temperature' needs temperature=tau > 0"):
        HybridBatchSampler(small_ds, 1, language_weights="temperature", num_replicas=1, rank=0)
    with pytest.raises(ValueError, match="language_weights='zipf' must be"):
        HybridBatchSampler(small_ds, 1, language_weights="zipf", num_replicas=1, rank=0)


def test_error_rank_and_seed(small_ds):
    with pytest.raises(ValueError, match=r"rank=2 must be in \[0, num_replicas=2\)"):
        HybridBatchSampler(small_ds, 1, num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="seed=-1 must be a non-negative integer"):
        HybridBatchSampler(small_ds, 1, seed=-1, num_replicas=1, rank=0)
    with pytest.raises(IndexError, match="step=99 outside"):
        HybridBatchSampler(small_ds, 2, num_replicas=1, rank=0).batch_kind(99)


# ----------------------------------------------------------------------------------------- PairDataset


def test_pair_dataset_reads_query_fields_from_the_query_row_and_passage_fields_from_the_passage_row():
    ds = make_layout([["en", "de"], ["en", "zh"]])
    rows = {(g, lang): i for i, (g, lang) in enumerate(zip(ds["group_id"], ds["lang"]))}
    pairs = PairDataset(ds)
    q, p = rows[("g0", "en")], rows[("g0", "de")]
    assert pairs[(q, p)] == {"query": "q-0-en", "positive": "p-0-de", "negatives": ["n-0-de"], "query_lang": "en",
                             "passage_lang": "de", "group_id": "g0"}
    batch = pairs.__getitems__([(q, p), (rows[("g1", "zh")], rows[("g1", "zh")])])
    assert [b["positive"] for b in batch] == ["p-0-de", "p-1-zh"] and len(pairs) == 4
    no_neg = PairDataset(ds.remove_columns("negatives"))
    assert no_neg[(q, q)]["negatives"] == []
