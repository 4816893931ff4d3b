"""hf_hybrid.sampling.plan: the seeded per-epoch plan (batch kind and mono language of every step), seeded_rng."""

from __future__ import annotations

import numpy as np
import pytest

from hf_hybrid.sampling import AlphaSchedule, BatchKind, Strategy
from hf_hybrid.sampling.plan import (
    CROSS,
    KIND_OF_CODE,
    MONO,
    TAG_PAIRS,
    TAG_PERMUTATION,
    TAG_PLAN,
    X_X,
    plan_epoch,
    seeded_rng,
)

BITS = np.array([0, 3, 5])  # language bits of the selected languages (not contiguous)
P = np.array([0.5, 0.3, 0.2])
CONSTANT = AlphaSchedule("constant", 0.5, 0.5)


def _plan(seed=0, epoch=0, n=64, strategy=Strategy.HYBRID, schedule=CONSTANT, bits=BITS, p=P):
    return plan_epoch(seed, epoch, n, strategy, schedule, bits, p)


def test_codes_and_kinds():
    assert (MONO, CROSS, X_X) == (0, 1, 2)
    assert KIND_OF_CODE[MONO] is BatchKind.MONO and KIND_OF_CODE[CROSS] is BatchKind.CROSS
    assert KIND_OF_CODE[X_X] is BatchKind.X_X
    assert len({TAG_PERMUTATION, TAG_PLAN, TAG_PAIRS}) == 3


def test_shapes_and_dtypes():
    kinds, langs = _plan(n=17)
    assert kinds.shape == langs.shape == (17,)
    assert kinds.dtype == np.int8 and langs.dtype == np.int16
    kinds, langs = _plan(n=0)
    assert kinds.shape == langs.shape == (0,) and kinds.dtype == np.int8 and langs.dtype == np.int16


@pytest.mark.parametrize("strategy", list(Strategy))
def test_deterministic_per_seed_and_epoch(strategy):
    a = _plan(seed=3, epoch=2, strategy=strategy)
    b = _plan(seed=3, epoch=2, strategy=strategy)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    # another epoch or another seed is another plan (the languages always differ; the kinds unless fixed)
    for other in (_plan(seed=3, epoch=3, strategy=strategy), _plan(seed=4, epoch=2, strategy=strategy)):
        assert not np.array_equal(a[1], other[1])
        assert np.array_equal(a[0], other[0]) == (strategy is not Strategy.HYBRID)


def test_a_plan_does_not_depend_on_the_epochs_before_it():
    # epoch 5 computed alone equals epoch 5 computed after epochs 0..4 (no hidden state)
    alone = _plan(seed=1, epoch=5)
    for e in range(5):
        _plan(seed=1, epoch=e)
    again = _plan(seed=1, epoch=5)
    np.testing.assert_array_equal(alone[0], again[0])
    np.testing.assert_array_equal(alone[1], again[1])


@pytest.mark.parametrize("strategy, code", [(Strategy.X_X_MONO, MONO), (Strategy.X_Y, CROSS), (Strategy.X_X, X_X)])
def test_non_hybrid_strategies_have_one_fixed_kind(strategy, code):
    for alpha in (0.0, 0.5, 1.0):  # alpha plays no part
        kinds, _ = _plan(strategy=strategy, schedule=AlphaSchedule("constant", alpha, alpha), n=200)
        assert (kinds == code).all()


def test_mono_languages_do_not_depend_on_the_strategy():
    langs = [_plan(seed=9, epoch=1, strategy=s)[1] for s in Strategy]
    for other in langs[1:]:
        np.testing.assert_array_equal(langs[0], other)


def test_hybrid_draws_only_mono_and_cross_and_alpha_is_its_mono_share():
    n = 20_000
    for alpha in (0.2, 0.5, 0.8):
        kinds, _ = _plan(seed=11, n=n, schedule=AlphaSchedule("constant", alpha, alpha))
        assert set(np.unique(kinds)) <= {MONO, CROSS}
        share = float((kinds == MONO).mean())
        assert abs(share - alpha) < 5 * np.sqrt(alpha * (1 - alpha) / n)  # ~0.015 at alpha=0.5
    assert (_plan(schedule=AlphaSchedule("constant", 0.0, 0.0), n=500)[0] == CROSS).all()
    assert (_plan(schedule=AlphaSchedule("constant", 1.0, 1.0), n=500)[0] == MONO).all()


def test_hybrid_follows_the_schedule_at_global_steps():
    n, epochs = 50, 4
    schedule = AlphaSchedule("linear", 1.0, 0.0, total_steps=n * epochs)
    for epoch in range(epochs):
        kinds, _ = _plan(seed=5, epoch=epoch, n=n, schedule=schedule)
        # the plan's first draw is one uniform per step; mono iff it falls below alpha at the *global* step
        u = seeded_rng(5, TAG_PLAN, epoch).random(n)
        expected = np.where(u < schedule.values(epoch * n + np.arange(n)), MONO, CROSS)
        np.testing.assert_array_equal(kinds, expected)
    first, _ = _plan(seed=5, epoch=0, n=n, schedule=schedule)
    last, _ = _plan(seed=5, epoch=epochs - 1, n=n, schedule=schedule)
    assert first[0] == MONO and last[-1] == CROSS  # alpha is exactly 1 at step 0 and 0 at the last step
    assert (first == MONO).mean() > (last == MONO).mean()


def test_mono_languages_are_drawn_with_their_probabilities():
    n = 20_000
    _, langs = _plan(seed=2, n=n)
    assert set(np.unique(langs)) == set(BITS.tolist())
    for bit, p in zip(BITS, P):
        assert abs(float((langs == bit).mean()) - p) < 5 * np.sqrt(p * (1 - p) / n)
    _, langs = _plan(seed=2, n=2000, p=np.array([0.0, 1.0, 0.0]))
    assert (langs == 3).all()  # a zero-probability language is never drawn
    _, langs = _plan(n=100, bits=np.array([4]), p=np.array([1.0]))
    assert (langs == 4).all()


def test_seeded_rng_is_one_stream_per_seed_tag_epoch_and_step():
    def draw(*key):
        return seeded_rng(*key).integers(0, 2**62, size=8)

    base = draw(7, TAG_PLAN, 1, 2)
    np.testing.assert_array_equal(base, draw(7, TAG_PLAN, 1, 2))  # every rank derives the same one
    others = [draw(8, TAG_PLAN, 1, 2), draw(7, TAG_PAIRS, 1, 2), draw(7, TAG_PERMUTATION, 1, 2),
              draw(7, TAG_PLAN, 0, 2), draw(7, TAG_PLAN, 1, 3)]
    streams = [tuple(base)] + [tuple(o) for o in others]
    assert len(set(streams)) == len(streams)
    # epoch and step default to 0
    np.testing.assert_array_equal(draw(7, TAG_PLAN), draw(7, TAG_PLAN, 0, 0))


def test_streams_differ_by_tag_for_the_same_seed_and_epoch():
    # the permutation, the plan and the pairs of a step never share random numbers
    u = {tag: seeded_rng(0, tag, 0).random(1000) for tag in (TAG_PERMUTATION, TAG_PLAN, TAG_PAIRS)}
    tags = sorted(u)
    for i, a in enumerate(tags):
        for b in tags[i + 1:]:
            assert abs(np.corrcoef(u[a], u[b])[0, 1]) < 0.15
            assert not np.intersect1d(u[a], u[b]).size
