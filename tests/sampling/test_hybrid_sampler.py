"""HybridBatchSampler: the docs/design.md section 2 invariants, under accelerate sharding, resumable."""

from __future__ import annotations

import json
import math
import warnings
from collections import Counter

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from torch.utils.data import DataLoader

from hf_hybrid.sampling import BatchKind, GroupIndex, HybridBatchSampler, PairDataset, Strategy
from sampling.layouts import (
    FAST,
    Decoder,
    arrays_layout,
    assert_kind,
    global_batches,
    make_layout,
    random_lang_sets,
)


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
            assert dec.kind_of(pairs)[0] == BatchKind.CROSS
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
            if kind == BatchKind.CROSS:
                assert not {dec.group[q] for q, _ in pairs} & singles
    assert kinds[BatchKind.MONO] and kinds[BatchKind.CROSS]


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
    from shared_data import shared_dataset
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
            if kind == BatchKind.MONO:
                assert {ex["query_lang"] for ex in examples} == {ex["passage_lang"] for ex in examples} == {lang}
            else:
                assert all(ex["query_lang"] != ex["passage_lang"] for ex in examples)
            for r in range(w):  # rank r holds exactly slice r of the global batch
                want = expected[step][r * 2:(r + 1) * 2]
                assert [(ex["query"], ex["positive"]) for ex in per_rank[r][step]] == [
                    (ds[q]["query"], ds[p]["positive"]) for q, p in want]
        assert kinds[BatchKind.MONO] and kinds[BatchKind.CROSS]


def test_per_rank_layout_under_accelerate_sharding_is_the_trap_the_default_avoids():
    """Negative control: the checker above does catch the docs/design.md trap (ranks on different steps)."""
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
        assert is_mono == (sampler.batch_kind(step)[0] == BatchKind.MONO)
        assert is_mono or (row_lang[q] != row_lang[p]).all()
        mono += is_mono
    assert abs(mono / 10_000 - 0.3) <= 0.02


# ----------------------------------------------------------------------------------------- errors


@pytest.fixture(scope="module")
def small_ds():
    return make_layout(random_lang_sets(20, np.random.default_rng(0)))


def test_error_unknown_strategy_and_layout(small_ds):
    with pytest.raises(ValueError,
                       match=r"unknown strategy='xy'; choose one of \['hybrid', 'x-x-mono', 'x-x', 'x-y', 'x-multi'\]"):
        HybridBatchSampler(small_ds, 2, strategy="xy", num_replicas=1, rank=0)
    with pytest.raises(ValueError, match="unknown layout='ddp'"):
        HybridBatchSampler(small_ds, 2, layout="ddp", num_replicas=1, rank=0)


def test_error_rank_and_seed(small_ds):
    with pytest.raises(ValueError, match=r"rank=2 must be in \[0, num_replicas=2\)"):
        HybridBatchSampler(small_ds, 1, num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="seed=-1 must be a non-negative integer"):
        HybridBatchSampler(small_ds, 1, seed=-1, num_replicas=1, rank=0)
    with pytest.raises(IndexError, match="step=99 outside"):
        HybridBatchSampler(small_ds, 2, num_replicas=1, rank=0).batch_kind(99)


# ----------------------------------------------------------------------------------------- configuration

CONFIG_KEYS = {"strategy", "alpha", "alpha_schedule", "alpha_end", "alpha_switch", "total_steps", "language_weights",
               "language_temperature", "languages", "language_probabilities", "languages_per_group",
               "language_negatives", "language_negatives_from", "batch_size", "num_replicas", "global_batch_size",
               "seed", "drop_last"}
CONSTRUCTOR_KEYS = ("strategy", "alpha", "alpha_schedule", "alpha_end", "alpha_switch", "total_steps",
                    "language_weights", "language_temperature", "languages", "languages_per_group",
                    "language_negatives", "language_negatives_from", "seed", "drop_last", "num_replicas")


@pytest.mark.parametrize("settings", [
    dict(strategy="hybrid", alpha=0.3, num_replicas=2),
    dict(strategy=Strategy.HYBRID, alpha=0.9, alpha_schedule="linear", alpha_end=0.1, total_steps=40,
         language_weights="temperature", language_temperature=2.0, num_replicas=1, seed=7, drop_last=False),
    dict(strategy="x-y", language_weights={"en": 2.0, "de": 1.0, "zh": 1.0}, languages=["de", "en", "zh"],
         num_replicas=2),
    dict(strategy="x-x-mono", language_weights="proportional", num_replicas=1, seed=3),
    dict(strategy="x-multi", languages_per_group=2, language_negatives=1, language_negatives_from="any",
         num_replicas=1, seed=5),
    dict(strategy="hybrid", alpha=1.0, alpha_schedule="step", alpha_end=0.0, alpha_switch=0.5, total_steps=20,
         language_negatives=2, language_negatives_from="article", num_replicas=2),
])
def test_get_config_dict_is_json_and_round_trips_the_settings(settings):
    ds = make_layout(random_lang_sets(60, np.random.default_rng(4)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        sampler = HybridBatchSampler(ds, 2, rank=0, **settings)
        config = sampler.get_config_dict()
        assert set(config) == CONFIG_KEYS
        assert json.loads(json.dumps(config)) == config
        assert type(config["strategy"]) is str and config["strategy"] == Strategy(settings["strategy"]).value
        for key, value in settings.items():  # what was set is what is reported
            assert config[key] == (list(value) if key == "languages" else value), key
        assert config["global_batch_size"] == 2 * config["num_replicas"] and config["batch_size"] == 2
        assert config["language_probabilities"] == sampler.language_probabilities
        again = HybridBatchSampler(ds, config["batch_size"], rank=0, **{k: config[k] for k in CONSTRUCTOR_KEYS})
    assert again.get_config_dict() == config
    assert list(again) == list(sampler)


def test_strategy_and_batch_kinds_are_enums_equal_to_their_strings():
    ds = make_layout(random_lang_sets(40, np.random.default_rng(1)))
    sampler = HybridBatchSampler(ds, 2, strategy=Strategy.X_X, num_replicas=1, rank=0)
    assert sampler.strategy is Strategy.X_X and sampler.strategy == "x-x"
    assert sampler.state_dict()["strategy"] == "x-x" and type(sampler.state_dict()["strategy"]) is str
    kind, lang = sampler.batch_kind(0)
    assert kind is BatchKind.X_X and kind == "x-x" and lang is None
    assert list(HybridBatchSampler(ds, 2, strategy="x-x", num_replicas=1, rank=0)) == list(sampler)
