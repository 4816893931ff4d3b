"""RetrievalResult: summary, JSON round trip, markdown, heatmap, atomic saves."""

from __future__ import annotations

import json

import numpy as np
import pytest
from retrieval_fixtures import tiny_pool

from hf_hybrid.evaluation import RetrievalResult, evaluate_scores


def test_result_object_serialises_and_draws(tmp_path):
    S = np.array([[0.9, 0.5, 0.4, 0.8], [0.1, 0.2, 0.7, 0.7], [0.3, 0.6, 0.6, 0.9]])
    result = evaluate_scores(S, tiny_pool(), model="m")
    d = result.to_dict()
    assert d["name"] == "tiny" and d["model"] == "m"
    assert json.loads(json.dumps(d)) == d                    # strictly JSON (no NaN)
    assert RetrievalResult.from_dict(d).to_dict() == d
    assert result.summary()["pool_map"] == pytest.approx((0.75 + 0.75 + 7 / 12) / 3)
    assert result.summary()["mono_map"] == 1.0 and result.summary()["cross_map"] == 0.5
    assert result.summary()["max_rd"] == pytest.approx(7 / 3)
    assert all(isinstance(v, float) for v in result.summary().values())
    np.testing.assert_array_equal(result.matrix(), [[1.0, 0.5], [0.5, 1.0]])
    md = result.to_markdown()
    assert "| multilingual pool mAP | 0.6944 |" in md
    assert "| **de** | 1.0000 | 0.5000 |" in md
    paths = result.save(tmp_path / "out")
    assert paths["heatmap"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(paths["json"].read_text()) == d
    assert paths["markdown"].read_text() == md
    assert not list((tmp_path / "out").glob(".*tmp*"))      # atomic writes leave no temporaries
