"""AlphaSchedule: constant, linear, cosine and step alpha (from alpha to alpha_end), alone and inside the sampler."""

from __future__ import annotations

import math

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
    with pytest.raises(ValueError, match=r"unknown alpha_schedule='exp'; use one of \['constant', 'linear', 'cosine', "
                                         r"'step'\]"):
        HybridBatchSampler(small_ds, 2, alpha_schedule="exp", num_replicas=1, rank=0)
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
    with pytest.raises(ValueError, match=r"alpha_end=0.2 is only used with alpha_schedule in \['linear', 'cosine', "
                                         r"'step'\]"):
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


def test_cosine_schedule_values():
    cosine = AlphaSchedule("cosine", start=1.0, end=0.0, total_steps=5)
    expected = [1.0, (1 + math.cos(math.pi / 4)) / 2, 0.5, (1 + math.cos(3 * math.pi / 4)) / 2, 0.0, 0.0]
    assert cosine.values(np.arange(6)).tolist() == pytest.approx(expected, abs=1e-15)
    assert [cosine.value(s) for s in (-1, 0, 4, 10**6)] == [1.0, 1.0, 0.0, 0.0]
    assert cosine.value(1) == pytest.approx(0.8535533905932737, abs=1e-15)
    up = AlphaSchedule("cosine", start=0.2, end=0.8, total_steps=3)  # 0.2 -> 0.5 -> 0.8
    assert up.values(np.arange(3)).tolist() == pytest.approx([0.2, 0.5, 0.8], abs=1e-15)
    assert (up.lowest, up.highest, up.switch_step) == (0.2, 0.8, None)


@pytest.mark.parametrize("start, end, switch, total, expected", [
    (1.0, 0.0, 0.3, 10, [1.0] * 3 + [0.0] * 7),  # mono-first: 0.3 * 10 = 3.0000000000000004 -> S = 3
    (0.0, 1.0, 0.5, 10, [0.0] * 5 + [1.0] * 5),  # the reverse curriculum
    (1.0, 0.0, 0.25, 10, [1.0] * 3 + [0.0] * 7),  # 2.5 rounds half up: S = 3
    (0.9, 0.1, 0.5, 3, [0.9, 0.9, 0.1]),  # 1.5 -> S = 2
    (0.7, 0.2, 0.01, 10, [0.2] * 10),  # S = 0: alpha_end from the first step
])
def test_step_schedule_values(start, end, switch, total, expected):
    step = AlphaSchedule("step", start=start, end=end, total_steps=total, switch=switch)
    assert step.values(np.arange(total)).tolist() == expected
    assert [step.value(s) for s in range(total)] == expected and step.value(10**6) == end
    assert step.switch_step == math.floor(switch * total + 0.5)


def test_step_and_cosine_errors():
    with pytest.raises(ValueError, match=r"alpha_schedule='step' needs alpha_switch= in \(0, 1\).*got alpha_switch=None"):
        AlphaSchedule("step", 1.0, 0.0, total_steps=4)
    for bad in (0, 1, 1.5, True):
        with pytest.raises(ValueError, match=rf"needs alpha_switch= in \(0, 1\).*got alpha_switch={bad!r}"):
            AlphaSchedule("step", 1.0, 0.0, total_steps=4, switch=bad)
    with pytest.raises(ValueError, match=r"alpha_switch=0.5 is only used with alpha_schedule='step' \(got 'linear'\)"):
        AlphaSchedule("linear", 1.0, 0.0, total_steps=4, switch=0.5)
    with pytest.raises(ValueError, match="alpha_schedule='cosine' needs total_steps="):
        AlphaSchedule("cosine", 1.0, 0.0)
    with pytest.raises(ValueError, match="alpha_schedule='step' needs alpha_end="):
        AlphaSchedule.from_arguments("step", 1.0, None, 10, None, 5, alpha_switch=0.5)
    with pytest.raises(ValueError, match="alpha_switch=0.5 is only used with alpha_schedule='step'"):
        AlphaSchedule.from_arguments("constant", 0.5, None, None, None, 5, alpha_switch=0.5)


@pytest.mark.parametrize("shape, switch", [("cosine", None), ("step", 0.5)])
def test_cosine_and_step_inside_the_sampler(shape, switch):
    ds = make_layout(random_lang_sets(200, np.random.default_rng(3)))
    sampler = HybridBatchSampler(ds, 2, strategy="hybrid", alpha=1.0, alpha_schedule=shape, alpha_end=0.0,
                                 alpha_switch=switch, num_epochs=2, num_replicas=2, rank=0, seed=1)
    assert sampler.total_steps == 100 and sampler.schedule == AlphaSchedule(shape, 1.0, 0.0, 100, switch)
    config = sampler.get_config_dict()
    assert (config["alpha_schedule"], config["alpha_end"], config["alpha_switch"]) == (shape, 0.0, switch)
    assert sampler.current_alpha(0) == 1.0 and sampler.current_alpha(99) == 0.0
    if shape == "step":  # exact: every step of the first half mono, of the second cross
        assert [sampler.current_alpha(t) for t in (49, 50)] == [1.0, 0.0]
        kinds = [sampler.batch_kind(t, epoch=e)[0] for e in (0, 1) for t in range(50)]
        assert kinds == [BatchKind.MONO] * 50 + [BatchKind.CROSS] * 50
    else:
        assert sampler.current_alpha(33) == pytest.approx((1 + math.cos(math.pi / 3)) / 2)
    dec = Decoder(ds)
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        for step, pairs in enumerate(global_batches(list(sampler), 2)):
            assert_kind(sampler, dec, step, pairs)
