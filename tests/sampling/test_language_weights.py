"""Language weights: uniform / proportional / temperature / mapping, their statistics and their errors."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from hf_hybrid.sampling import GroupIndex, HybridBatchSampler
from sampling.layouts import arrays_layout, global_batches, make_layout, random_lang_sets


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
    sampler = HybridBatchSampler(index, 3, strategy="x-x-mono", language_weights="temperature",
                                 language_temperature=tau, num_replicas=2, rank=0, seed=5)
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


@pytest.fixture(scope="module")
def small_ds():
    return make_layout(random_lang_sets(20, np.random.default_rng(0)))


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
    with pytest.raises(ValueError, match="language_weights='temperature' needs language_temperature=tau > 0"):
        HybridBatchSampler(small_ds, 1, language_weights="temperature", num_replicas=1, rank=0)
    with pytest.raises(ValueError, match="language_weights='zipf' must be"):
        HybridBatchSampler(small_ds, 1, language_weights="zipf", num_replicas=1, rank=0)


def test_language_temperature_only_with_temperature_weights(small_ds):
    with pytest.raises(ValueError, match=r"language_temperature=2.0 is only used with language_weights='temperature'"):
        HybridBatchSampler(small_ds, 1, language_temperature=2.0, num_replicas=1, rank=0)
    sampler = HybridBatchSampler(small_ds, 1, language_weights="temperature", language_temperature=1.0,
                                 num_replicas=1, rank=0)
    proportional = HybridBatchSampler(small_ds, 1, language_weights="proportional", num_replicas=1, rank=0)
    assert sampler.language_probabilities == pytest.approx(proportional.language_probabilities)
