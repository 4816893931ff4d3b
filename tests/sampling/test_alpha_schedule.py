"""AlphaSchedule: constant and linear alpha (from alpha to alpha_end), alone and inside the sampler."""

from __future__ import annotations

import numpy as np
import pytest

from hf_hybrid.sampling import AlphaSchedule, BatchKind, HybridBatchSampler
from sampling.layouts import Decoder, assert_kind, global_batches, make_layout, random_lang_sets


def test_linear_alpha_schedule():
    ds = make_layout(random_lang_sets(200, np.random.default_rng(3)))
    sampler = HybridBatchSampler(ds, 2, strategy="hybrid", alpha_schedule="linear", alpha=0.0, alpha_end=1.0,
                                 num_epochs=2, num_replicas=2, rank=0, seed=1)
    steps = sampler.steps_per_epoch
    assert sampler.total_steps == 2 * steps == 100
    assert sampler.current_alpha(0) == 0.0 and sampler.current_alpha(99) == 1.0 and sampler.current_alpha(500) == 1.0
    assert sampler.current_alpha(33) == pytest.approx(1 / 3)
    assert sampler.batch_kind(0, epoch=0)[0] == BatchKind.CROSS  # alpha 0: never mono
    assert sampler.batch_kind(steps - 1, epoch=1)[0] == BatchKind.MONO  # alpha 1: always mono
    dec = Decoder(ds)
    mono = []
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        for step, pairs in enumerate(global_batches(list(sampler), 2)):
            assert_kind(sampler, dec, step, pairs)
            mono.append(sampler.batch_kind(step)[0] == BatchKind.MONO)
    assert sum(mono[:25]) < sum(mono[-25:])


@pytest.fixture(scope="module")
def small_ds():
    return make_layout(random_lang_sets(20, np.random.default_rng(0)))


@pytest.mark.parametrize("alpha", [1.5, -0.1])
def test_error_alpha_outside_unit_interval(small_ds, alpha):
    with pytest.raises(ValueError, match=rf"alpha={alpha} must be a probability in \[0, 1\]"):
        HybridBatchSampler(small_ds, 2, alpha=alpha, num_replicas=1, rank=0)
    with pytest.raises(ValueError, match=rf"alpha_end={alpha} must be a probability"):
        HybridBatchSampler(small_ds, 2, alpha_schedule="linear", alpha=0.0, alpha_end=alpha, total_steps=10,
                           num_replicas=1, rank=0)


def test_error_unknown_or_incomplete_schedule(small_ds):
    with pytest.raises(ValueError, match="unknown alpha_schedule='cosine'"):
        HybridBatchSampler(small_ds, 2, alpha_schedule="cosine", num_replicas=1, rank=0)
    with pytest.raises(ValueError, match="alpha_schedule='linear' needs total_steps="):
        HybridBatchSampler(small_ds, 2, alpha_schedule="linear", alpha=0.2, alpha_end=0.8, num_replicas=1,
                           rank=0)
    with pytest.raises(ValueError, match="needs alpha_end="):
        HybridBatchSampler(small_ds, 2, alpha_schedule="linear", total_steps=5, num_replicas=1, rank=0)


def test_linear_schedule_from_alpha_and_alpha_end_only():
    """The issue-11 bug: a linear schedule given as the CLI gives it (alpha, alpha_end; no alpha_start)."""
    ds = make_layout(random_lang_sets(200, np.random.default_rng(3)))
    sampler = HybridBatchSampler(ds, 2, strategy="hybrid", alpha=0.8, alpha_schedule="linear", alpha_end=0.2,
                                 num_epochs=1, num_replicas=2, rank=0, seed=1)
    assert sampler.total_steps == sampler.steps_per_epoch == 50
    assert sampler.current_alpha(0) == 0.8 and sampler.current_alpha(49) == pytest.approx(0.2)
    assert (sampler.alpha, sampler.alpha_schedule, sampler.alpha_end) == (0.8, "linear", 0.2)
    assert sampler.schedule == AlphaSchedule("linear", 0.8, 0.2, 50)
    assert len(list(sampler)) == 100


def test_alpha_end_only_with_a_linear_schedule(small_ds):
    with pytest.raises(ValueError, match=r"alpha_end=0.2 is only used with alpha_schedule='linear'"):
        HybridBatchSampler(small_ds, 2, alpha_end=0.2, num_replicas=1, rank=0)


def test_alpha_schedule_values():
    constant = AlphaSchedule()
    assert (constant.shape, constant.value(0), constant.value(10**9)) == ("constant", 0.5, 0.5)
    assert constant.values(np.arange(3)).tolist() == [0.5, 0.5, 0.5]
    linear = AlphaSchedule("linear", start=1.0, end=0.0, total_steps=5)
    assert [linear.value(s) for s in (-3, 0, 1, 4, 99)] == [1.0, 1.0, 0.75, 0.0, 0.0]
    assert linear.values(np.arange(6)).tolist() == [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    assert (linear.lowest, linear.highest) == (0.0, 1.0)
    with pytest.raises(ValueError, match="needs total_steps="):
        AlphaSchedule("linear", 0.0, 1.0)
    with pytest.raises(ValueError, match="a constant alpha schedule has one alpha"):
        AlphaSchedule("constant", 0.2, 0.8)
    with pytest.raises(ValueError, match=r"alpha=True must be a probability"):
        AlphaSchedule("constant", True, True)
