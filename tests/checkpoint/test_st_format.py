"""The sentence-transformers files: one writer, one reader, and the reader knows every Pooling layout."""

from __future__ import annotations

import json

import pytest
from tiny import make_tiny_encoder

from hf_hybrid.checkpoint import ModelLoadError, read_st_settings, write_st_files
from hf_hybrid.checkpoint.st_format import SETTING_KEYS, pooling_mode

SETTINGS = {"pooling": "lasttoken", "normalize": False, "query_prompt": "q: ", "passage_prompt": "p: ",
            "query_max_length": 24, "passage_max_length": 96}


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return make_tiny_encoder(tmp_path_factory.mktemp("tiny") / "enc", ["query: what is it?", "passage: it is this."])


def _write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("pooling", ["cls", "mean", "lasttoken"])
def test_reads_what_dual_encoder_save_pretrained_wrote(tiny_dir, tmp_path, pooling):
    """The bug of issue 11: a cls-pooled checkpoint was read as mean-pooled by the model card."""
    from hf_hybrid.modeling import DualEncoder

    m = DualEncoder.from_pretrained(tiny_dir, pooling=pooling, query_prompt="query: ", passage_prompt="passage: ",
                                    query_max_length=16, passage_max_length=100)
    out = m.save_pretrained(tmp_path / "ckpt")
    assert read_st_settings(out) == {"pooling": pooling, "normalize": True, "query_prompt": "query: ",
                                     "passage_prompt": "passage: ", "query_max_length": 16, "passage_max_length": 100}


def test_reads_a_sentence_transformers_save(tiny_dir, tmp_path):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    st = SentenceTransformer(str(tiny_dir), device="cpu", prompts={"query": "query: ", "document": "passage: "})
    st[1] = Pooling(32, pooling_mode="cls")
    st.save(str(tmp_path / "st"))
    settings = read_st_settings(tmp_path / "st")
    assert settings["pooling"] == "cls" and settings["normalize"] is False
    assert (settings["query_prompt"], settings["passage_prompt"]) == ("query: ", "passage: ")


@pytest.mark.parametrize("config,mode", [
    ({"pooling_mode": "cls"}, "cls"),
    ({"pooling_mode": ["lasttoken"]}, "lasttoken"),
    ({"pooling_mode": "max"}, "max"),
    ({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}, "cls"),  # sentence-transformers < 5
    ({"pooling_mode_mean_tokens": True}, "mean"),
    ({"pooling_mode_lasttoken": True}, "lasttoken"),
    ({"pooling_mode_weightedmean_tokens": True}, "weightedmean"),
    ({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": True}, "cls+mean"),
    ({"pooling_mode_cls_token": False}, ""),
])
def test_pooling_mode_layouts(config, mode):
    assert pooling_mode(config) == mode


def test_legacy_layout_prompts_and_lengths(tmp_path):
    _write(tmp_path / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ])
    _write(tmp_path / "1_Pooling" / "config.json", {"word_embedding_dimension": 32, "pooling_mode_cls_token": True})
    _write(tmp_path / "sentence_xlm-roberta_config.json", {"max_seq_length": 200})
    _write(tmp_path / "config_sentence_transformers.json", {"prompts": {"query": "", "corpus": "doc: "}})
    assert read_st_settings(tmp_path) == {"pooling": "cls", "normalize": False, "passage_prompt": "doc: ",
                                          "query_max_length": 200, "passage_max_length": 200}
    _write(tmp_path / "sentence_bert_config.json", {"max_seq_length": 200, "query_length": 32})
    assert read_st_settings(tmp_path)["query_max_length"] == 32  # the current file name wins over the old one
    assert read_st_settings(tmp_path)["passage_max_length"] == 200


def test_nothing_stated_gives_nothing(tmp_path):
    assert read_st_settings(tmp_path) == {}
    (tmp_path / "modules.json").write_text("[oops")
    with pytest.raises(ModelLoadError, match="modules.json is not valid JSON"):
        read_st_settings(tmp_path)


@pytest.mark.parametrize("shared", [True, False])
def test_writer_and_reader_agree(tmp_path, shared):
    write_st_files(tmp_path, {**SETTINGS, "shared_towers": shared}, embedding_dim=32)
    assert read_st_settings(tmp_path) == SETTINGS
    modules = json.loads((tmp_path / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[-1] for m in modules] == ["Transformer" if shared else "Router", "Pooling"]
    assert (tmp_path / "router_config.json").exists() is not shared
    assert (tmp_path / "passage_encoder" / "sentence_bert_config.json").exists() is not shared
    st_config = json.loads((tmp_path / "config_sentence_transformers.json").read_text())
    assert st_config["similarity_fn_name"] == "dot" and st_config["default_prompt_name"] is None
    pooling = json.loads((tmp_path / "1_Pooling" / "config.json").read_text())
    assert pooling == {"embedding_dimension": 32, "pooling_mode": "lasttoken", "include_prompt": True}


def test_writer_takes_a_config_object(tmp_path):
    class Config:
        shared_towers = True

    config = Config()
    for key, value in {**SETTINGS, "normalize": True}.items():
        setattr(config, key, value)
    write_st_files(tmp_path, config, embedding_dim=8)
    assert read_st_settings(tmp_path) == {**SETTINGS, "normalize": True}
    assert (tmp_path / "2_Normalize" / "config.json").exists()
    assert set(SETTING_KEYS) == set(SETTINGS)
