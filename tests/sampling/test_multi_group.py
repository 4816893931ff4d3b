"""x-multi batches: W*B/m distinct groups x m languages, queries rotated against passages, exact resume."""

from __future__ import annotations

import json
import warnings
from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hf_hybrid.sampling import BatchKind, HybridBatchSampler, Strategy
from hf_hybrid.sampling.multi_group import check_languages_per_group, draw_distinct_languages, multi_rows
from sampling.layouts import FAST, LANGS7, Decoder, global_batches, make_layout, random_lang_sets


def _check_multi_batch(dec: Decoder, pairs, m: int, b: int) -> list[str]:
    """Every invariant of one x-multi global batch; returns its groups in order."""
    assert len(pairs) % m == 0
    groups = []
    for start in range(0, len(pairs), m):
        block = pairs[start:start + m]
        (group,) = {dec.group[q] for q, _ in block} | {dec.group[p] for _, p in block}  # one group per block
        p_langs = [dec.lang[p] for _, p in block]
        q_langs = [dec.lang[q] for q, _ in block]
        assert len(set(p_langs)) == m, "a group's passages must be in m distinct languages"
        assert q_langs == p_langs[1:] + p_langs[:1], "query j is in the language of passage j + 1"
        assert set(p_langs) <= dec.langs_of[group]
        if m > 1:
            assert all(q != p for q, p in zip(q_langs, p_langs))
        groups.append(group)
    assert len(set(groups)) == len(groups), f"a group in two blocks: {Counter(groups).most_common(1)}"
    for r in range(len(pairs) // b):  # every rank slice holds whole groups
        assert b % m == 0 and len({dec.group[q] for q, _ in pairs[r * b:(r + 1) * b]}) == b // m
    return groups


@pytest.mark.parametrize("m, b, w", [(2, 4, 2), (3, 6, 1), (4, 4, 2), (1, 3, 2)])
def test_every_batch_keeps_the_x_multi_invariants(m, b, w):
    ds = make_layout(random_lang_sets(150, np.random.default_rng(7), lo=2, hi=6))
    dec = Decoder(ds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # groups with fewer than m languages are skipped
        sampler = HybridBatchSampler(ds, b, strategy="x-multi", languages_per_group=m, num_replicas=w, rank=0, seed=3)
    n_m = sum(len(langs) >= m for langs in dec.langs_of.values())
    assert sampler.steps_per_epoch == n_m // (w * b // m)
    seen = []
    for step, pairs in enumerate(global_batches(list(sampler), w)):
        assert sampler.batch_kind(step) == (BatchKind.MULTI, None)
        seen += _check_multi_batch(dec, pairs, m, b)
        assert all(len(dec.langs_of[g]) >= m for g in seen)
    assert len(set(seen)) == len(seen)  # an epoch visits each eligible group at most once


@given(seed=st.integers(0, 10**6), n=st.integers(12, 60), m=st.integers(1, 3), w=st.integers(1, 2))
@FAST
def test_x_multi_invariants_on_random_layouts(seed, n, m, w):
    rng = np.random.default_rng(seed)
    ds = make_layout(random_lang_sets(n, rng, lo=1, hi=5), shuffle_seed=seed)
    dec = Decoder(ds)
    b = m * int(rng.integers(1, 3))
    eligible = sum(len(langs) >= m for langs in dec.langs_of.values())
    if eligible < w * b // m:
        with pytest.raises(ValueError, match="x-multi batches need"):
            HybridBatchSampler(ds, b, strategy="x-multi", languages_per_group=m, num_replicas=w, rank=0, seed=seed)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        sampler = HybridBatchSampler(ds, b, strategy="x-multi", languages_per_group=m, num_replicas=w, rank=0,
                                     seed=seed)
    for pairs in global_batches(list(sampler), w):
        _check_multi_batch(dec, pairs, m, b)


def _epoch(sampler: HybridBatchSampler, epoch: int) -> list:
    sampler.set_epoch(epoch)
    return list(sampler)


def test_resume_and_determinism():
    ds = make_layout(random_lang_sets(120, np.random.default_rng(2)))

    def make(seed=5):
        return HybridBatchSampler(ds, 4, strategy="x-multi", languages_per_group=2, num_replicas=2, rank=0, seed=seed)

    sampler = make()
    full = _epoch(sampler, 1)
    assert full == _epoch(make(), 1) and full != _epoch(make(seed=6), 1) and full != _epoch(make(), 0)
    state = json.loads(json.dumps({**sampler.state_dict(), "step": 7}))
    assert state["languages_per_group"] == 2 and state["strategy"] == "x-multi"
    resumed = make()
    resumed.load_state_dict(state)  # epoch 1, step 7
    assert list(resumed) == full[7 * 2:]
    other = HybridBatchSampler(ds, 4, strategy="x-multi", languages_per_group=1, num_replicas=2, rank=0, seed=5)
    with pytest.raises(ValueError, match="saved with languages_per_group=2, this sampler has languages_per_group=1"):
        other.load_state_dict({k: v for k, v in state.items() if k != "steps_per_epoch"})


def test_per_rank_layout_yields_the_rank_slices():
    ds = make_layout(random_lang_sets(80, np.random.default_rng(4)))
    whole = list(HybridBatchSampler(ds, 4, strategy="x-multi", num_replicas=2, rank=0, seed=1))
    for r in (0, 1):
        mine = list(HybridBatchSampler(ds, 4, strategy="x-multi", num_replicas=2, rank=r, seed=1, layout="per_rank"))
        assert mine == whole[r::2]


def test_settings_default_and_errors():
    assert check_languages_per_group(Strategy.X_MULTI, None, 8) == 2
    assert check_languages_per_group(Strategy.X_Y, None, 8) is None
    with pytest.raises(ValueError, match="languages_per_group=2 is only used with strategy='x-multi' "
                                         r"\(got strategy='x-y'\)"):
        check_languages_per_group(Strategy.X_Y, 2, 8)
    with pytest.raises(ValueError, match="languages_per_group=3 must divide the per-process batch size 8"):
        check_languages_per_group(Strategy.X_MULTI, 3, 8)
    for bad in (0, -1, True, 2.0):
        with pytest.raises(ValueError, match=rf"languages_per_group={bad!r} must be a positive integer"):
            check_languages_per_group(Strategy.X_MULTI, bad, 8)
    ds = make_layout([["en", "de"]] * 5 + [["en"]] * 5)
    with pytest.warns(UserWarning, match="5 of 10 groups have fewer than languages_per_group=2"):
        sampler = HybridBatchSampler(ds, 2, strategy="x-multi", num_replicas=2, rank=0)
    assert (sampler.languages_per_group, sampler.steps_per_epoch) == (2, 2)
    assert sampler.get_config_dict()["languages_per_group"] == 2
    with pytest.raises(ValueError, match=r"x-multi batches need 3 distinct groups with 3 or more of the languages "
                                         r"\['de', 'en'\].*only 0 groups have 3"):
        HybridBatchSampler(ds, 3, strategy="x-multi", languages_per_group=3, num_replicas=3, rank=0)
    with pytest.raises(ValueError, match="HybridBatchSampler: languages_per_group=2 is only used with"):
        HybridBatchSampler(ds, 2, strategy="x-y", languages_per_group=2, num_replicas=1, rank=0)


def test_language_draw_follows_the_weights_without_replacement():
    masks = np.full(20000, 0b111, dtype=np.uint32)
    weights = np.array([1.0, 2.0, 3.0])
    langs = draw_distinct_languages(masks, weights, 2, np.random.default_rng(0))
    assert all(a != b for a, b in langs.tolist())
    first = np.bincount(langs[:, 0], minlength=3) / len(masks)
    np.testing.assert_allclose(first, [1 / 6, 2 / 6, 3 / 6], atol=0.015)
    # successive draws: P(second = 0) = P(1 first) * w0 / (w0 + w2) + P(2 first) * w0 / (w0 + w1)
    second = np.bincount(langs[:, 1], minlength=3) / len(masks)
    np.testing.assert_allclose(second[0], (2 / 6) * (1 / 4) + (3 / 6) * (1 / 3), atol=0.015)
    # a language the mask lacks, or of weight 0, is never drawn
    sparse = draw_distinct_languages(np.full(500, 0b1011, dtype=np.uint32), np.array([1.0, 0.0, 1.0, 1.0]), 2,
                                     np.random.default_rng(1))
    assert set(sparse.ravel().tolist()) == {0, 3}


def test_multi_rows_rotates_queries_against_passages():
    groups = np.array([4, 9])
    masks = np.array([0b0111, 0b1110], dtype=np.uint32)
    g, q, p = multi_rows(groups, masks, np.ones(4), 3, np.random.default_rng(0))
    assert g.tolist() == [4, 4, 4, 9, 9, 9]
    assert sorted(p[:3].tolist()) == [0, 1, 2] and sorted(p[3:].tolist()) == [1, 2, 3]
    assert q.tolist() == [p[1], p[2], p[0], p[4], p[5], p[3]]


def test_mlqa_like_data_with_all_seven_languages():
    ds = make_layout([LANGS7] * 12)
    sampler = HybridBatchSampler(ds, 7, strategy="x-multi", languages_per_group=7, num_replicas=1, rank=0)
    dec = Decoder(ds)
    for pairs in sampler:
        assert sorted(dec.lang[p] for _, p in pairs) == sorted(LANGS7)
