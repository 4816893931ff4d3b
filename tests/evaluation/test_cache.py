"""EmbeddingCache keys and shards, and the weight fingerprint that keys them."""

from __future__ import annotations

import numpy as np
import pytest

from hf_hybrid.evaluation import EmbeddingCache, model_fingerprint


def test_cache_keys_separate_models_kinds_and_prompts(tmp_path):
    a, b = EmbeddingCache(tmp_path, "f" * 64), EmbeddingCache(tmp_path, "e" * 64)
    assert a.key("query", "", "64", "x") != a.key("passage", "", "64", "x")
    assert a.key("query", "query: ", "64", "x") != a.key("query", "", "64", "x")
    assert a.key("query", "", "64", "x") != a.key("query", "", "128", "x")
    assert a.key("query", "", "64", "x") != b.key("query", "", "64", "x")
    assert a.key("query", "a", "", "bc") != a.key("query", "ab", "", "c")  # length-prefixed fields
    calls = []
    fn = lambda ts: (calls.append(list(ts)), np.ones((len(ts), 3), np.float32))[1]  # noqa: E731
    a.encode(["x", "y"], "query", fn)
    a.encode(["y", "z"], "query", fn)
    assert calls == [["x", "y"], ["z"]]
    b.encode(["x"], "query", fn)
    assert calls[-1] == ["x"]
    # A digest ending in 0x00 must survive the round trip (a bytes dtype would strip it).
    nul = next(t for t in (f"t{i}" for i in range(100_000)) if a.key("passage", "", "", t)[-1] == 0)
    a.encode([nul], "passage", fn)
    a.encode([nul], "passage", fn)
    assert calls[-1] == [nul] and calls[-2] == ["x"]


def test_model_fingerprint_tracks_weights():
    torch = pytest.importorskip("torch")
    m = torch.nn.Linear(3, 2)
    f1 = model_fingerprint(m)
    with torch.no_grad():
        m.weight[0, 0] += 1
    assert model_fingerprint(m) != f1
    with pytest.raises(TypeError, match="cannot fingerprint"):
        model_fingerprint(object())
