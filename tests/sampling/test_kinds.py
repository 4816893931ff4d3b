"""Strategy and BatchKind: one vocabulary, whose values are the strings of docs/design.md section 2."""

from __future__ import annotations

import json

import pytest

from hf_hybrid.sampling import BatchKind, Strategy, batch_kind_of


def test_values_are_the_strings_of_the_design():
    assert [s.value for s in Strategy] == ["hybrid", "x-x-mono", "x-x", "x-y", "x-multi"]
    assert [k.value for k in BatchKind] == ["mono", "cross", "x-x", "multi"]
    assert Strategy("x-y") is Strategy.X_Y and BatchKind("x-x") is BatchKind.X_X
    assert Strategy.X_X_MONO == "x-x-mono" and BatchKind.CROSS == "cross"
    assert str(Strategy.HYBRID) == "hybrid" and f"{BatchKind.MONO}" == "mono"
    assert json.dumps([Strategy.X_X, BatchKind.MONO]) == '["x-x", "mono"]'
    with pytest.raises(ValueError):
        Strategy("xy")


def test_batch_kind_of():
    assert batch_kind_of(["en", "en"], ["en", "en"]) is BatchKind.MONO
    assert batch_kind_of(["en", "de"], ["en", "de"]) is BatchKind.X_X
    assert batch_kind_of(["en", "de"], ["en", "zh"]) is BatchKind.CROSS
    # one cross-lingual pair makes the batch cross, even when the passages share one language
    assert batch_kind_of(["en", "de"], ["de", "de"]) is BatchKind.CROSS
    assert batch_kind_of([], []) is BatchKind.MONO
    assert batch_kind_of([None], [None]) == "mono"


def test_a_group_twice_makes_a_multi_batch():
    assert batch_kind_of(["de", "en"], ["en", "de"], ["g1", "g1"]) is BatchKind.MULTI
    assert batch_kind_of(["de", "en"], ["en", "de"], ["g1", "g2"]) is BatchKind.CROSS  # distinct: by languages
    assert batch_kind_of(["en", "en"], ["en", "en"], ["g1", "g2"]) is BatchKind.MONO
    torch = pytest.importorskip("torch")
    assert batch_kind_of(["en"] * 3, ["en"] * 3, torch.tensor([5, 7, 5])) is BatchKind.MULTI  # the collator's ids
