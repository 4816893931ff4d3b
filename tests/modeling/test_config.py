"""DualEncoderConfig: lengths checked against the position embeddings, defaults capped, unknown keys."""

from __future__ import annotations

import logging

import pytest

from hf_hybrid.modeling import DualEncoder, DualEncoderConfig


def test_max_length_beyond_positions(tiny_dir):
    with pytest.raises(ValueError, match=r"passage_max_length=200 .*max_position_embeddings=128 allows at most 128"):
        DualEncoder.from_pretrained(tiny_dir, passage_max_length=200)
    # XLM-R style models reserve pad_token_id + 1 positions: 20 -> 18
    from transformers import AutoTokenizer, XLMRobertaConfig, XLMRobertaModel

    cfg = XLMRobertaConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=16, max_position_embeddings=20, pad_token_id=1)
    tok = AutoTokenizer.from_pretrained(str(tiny_dir))
    enc = XLMRobertaModel(cfg)
    assert DualEncoder(enc, tok, query_max_length=18).settings.query_max_length == 18
    with pytest.raises(ValueError, match=r"query_max_length=19 .*max_position_embeddings=20 minus 2 .* at most 18"):
        DualEncoder(enc, tok, query_max_length=19)
    assert DualEncoder(enc, tok).settings.passage_max_length == 18  # default capped, not an error


def test_lengths_must_be_positive_integers(tiny_dir):
    for bad in (0, -3, 1.5, True):
        with pytest.raises(ValueError, match="must be a positive integer"):
            DualEncoder.from_pretrained(tiny_dir, query_max_length=bad)


def test_from_dict_ignores_unknown_keys_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        cfg = DualEncoderConfig.from_dict({"pooling": "cls", "future_key": 1}, "x/hf_hybrid_config.json")
    assert cfg.pooling == "cls" and cfg.to_dict()["format_version"] == 1
    assert "x/hf_hybrid_config.json: ignoring unknown keys ['future_key']" in caplog.text
