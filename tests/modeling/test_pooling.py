"""Pooling: the three modes on left and right padding, and the names accepted for them."""

from __future__ import annotations

import json

import pytest
import torch

from hf_hybrid.checkpoint import HF_HYBRID_CONFIG_NAME
from hf_hybrid.modeling import DualEncoder, Pooling, pool


def test_pool_modes_ignore_padding_on_both_sides():
    h = torch.arange(2 * 4 * 2, dtype=torch.float32).reshape(2, 4, 2)
    right = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    left = torch.tensor([[0, 1, 1, 1], [0, 0, 1, 1]])
    assert torch.equal(pool(h, right, "mean"), torch.stack([h[0, :3].mean(0), h[1, :2].mean(0)]))
    assert torch.equal(pool(h, right, "cls"), h[:, 0])
    assert torch.equal(pool(h, right, "lasttoken"), torch.stack([h[0, 2], h[1, 1]]))
    assert torch.equal(pool(h, left, "cls"), torch.stack([h[0, 1], h[1, 2]]))
    assert torch.equal(pool(h, left, "lasttoken"), h[:, 3])
    assert torch.equal(pool(h, left, "mean"), torch.stack([h[0, 1:].mean(0), h[1, 2:].mean(0)]))


def test_pool_takes_the_enum_and_rejects_unknown_modes():
    h = torch.randn(2, 3, 4)
    mask = torch.ones(2, 3, dtype=torch.long)
    assert torch.equal(pool(h, mask, Pooling.CLS), pool(h, mask, "cls"))
    with pytest.raises(ValueError, match="unknown pooling mode 'max'"):
        pool(h, mask, "max")


def test_parse_accepts_the_old_aliases():
    for text, mode in [("mean", Pooling.MEAN), ("avg", Pooling.MEAN), ("Average", Pooling.MEAN),
                       ("cls", Pooling.CLS), ("first", Pooling.CLS), ("lasttoken", Pooling.LASTTOKEN),
                       ("last-token", Pooling.LASTTOKEN), ("last_token", Pooling.LASTTOKEN),
                       (" last ", Pooling.LASTTOKEN), (Pooling.CLS, Pooling.CLS)]:
        assert Pooling.parse(text) is mode
    assert [p.value for p in Pooling] == ["mean", "cls", "lasttoken"]
    assert str(Pooling.CLS) == "cls" and f"{Pooling.LASTTOKEN}" == "lasttoken" and Pooling.MEAN == "mean"
    with pytest.raises(ValueError, match=r"pooling='max' is not supported: use one of \('mean', 'cls', 'lasttoken'\)"):
        Pooling.parse("max")


def test_pooling_names_are_validated(tiny_dir):
    assert DualEncoder.from_pretrained(tiny_dir, pooling="last-token").settings.pooling == "lasttoken"
    with pytest.raises(ValueError, match="pooling='max' is not supported"):
        DualEncoder.from_pretrained(tiny_dir, pooling="max")


def test_config_stores_the_canonical_string(tiny_dir, tmp_path):
    m = DualEncoder.from_pretrained(tiny_dir, pooling=Pooling.LASTTOKEN)
    assert type(m.settings.pooling) is str and m.settings.pooling == "lasttoken"
    out = m.save_pretrained(tmp_path / "m")
    assert json.loads((out / HF_HYBRID_CONFIG_NAME).read_text())["pooling"] == "lasttoken"
    assert json.loads((out / "1_Pooling" / "config.json").read_text())["pooling_mode"] == "lasttoken"
