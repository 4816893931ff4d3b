"""DualEncoder.from_pretrained / load_weights: settings precedence, the four kinds of directory, errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from modeling_support import QUERIES

from hf_hybrid.checkpoint import HF_HYBRID_CONFIG_NAME, PASSAGE_SUBFOLDER
from hf_hybrid.modeling import DualEncoder, ModelLoadError


def test_loads_sentence_transformers_dir_settings(tiny_dir, tmp_path):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Normalize
    from sentence_transformers.sentence_transformer.modules import Pooling

    st = SentenceTransformer(str(tiny_dir), device="cpu", prompts={"query": "query: ", "document": "passage: "})
    st[1] = Pooling(32, pooling_mode="cls")
    st.append(Normalize())
    st.save(str(tmp_path / "st"))
    m = DualEncoder.from_pretrained(tmp_path / "st")
    assert (m.settings.pooling, m.settings.normalize) == ("cls", True)
    assert (m.settings.query_prompt, m.settings.passage_prompt) == ("query: ", "passage: ")
    st2 = SentenceTransformer(str(tmp_path / "st"), device="cpu")
    np.testing.assert_allclose(m.encode_queries(QUERIES), st2.encode_query(QUERIES), atol=1e-5)
    # explicit arguments win over the directory
    assert DualEncoder.from_pretrained(tmp_path / "st", pooling="mean").settings.pooling == "mean"


def test_unsupported_st_pooling_needs_an_explicit_choice(tiny_dir, tmp_path):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    st = SentenceTransformer(str(tiny_dir), device="cpu")
    st[1] = Pooling(32, pooling_mode="max")
    st.save(str(tmp_path / "st"))
    with pytest.raises(ModelLoadError, match=r"saved pooling 'max' has no DualEncoder equivalent.*pass pooling="):
        DualEncoder.from_pretrained(tmp_path / "st")
    assert DualEncoder.from_pretrained(tmp_path / "st", pooling="cls").settings.pooling == "cls"


def test_st_modules_without_equivalent_are_dropped_with_a_warning(tiny_dir, tmp_path):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Dense

    st = SentenceTransformer(str(tiny_dir), device="cpu")
    st.append(Dense(32, 8))
    st.save(str(tmp_path / "st"))
    with pytest.warns(UserWarning, match=r"module '.*Dense' \(path '2_Dense'\) has no DualEncoder equivalent"):
        m = DualEncoder.from_pretrained(tmp_path / "st")
    assert m.settings.pooling == "mean"


def test_plain_encoder_defaults(tiny_dir):
    m = DualEncoder.from_pretrained(tiny_dir)
    s = m.settings
    assert (s.pooling, s.normalize, s.query_prompt, s.passage_prompt) == ("mean", True, "", "")
    # defaults 64 / 256, capped at the 128 positions of the tiny model
    assert (s.query_max_length, s.passage_max_length) == (64, 128)


def test_save_with_state_dict_and_load_weights(e5, tmp_path):
    sd = {k: v.clone() for k, v in e5.state_dict().items()}
    sd["encoder.embeddings.word_embeddings.weight"] += 1.0
    e5.save_pretrained(tmp_path / "sd", state_dict=sd)
    back = DualEncoder.from_pretrained(tmp_path / "sd")
    torch.testing.assert_close(back.encoder.embeddings.word_embeddings.weight, sd["encoder.embeddings.word_embeddings.weight"])
    # resume-style in-place load keeps parameter identity
    w = e5.encoder.embeddings.word_embeddings.weight
    e5.load_weights(tmp_path / "sd")
    assert e5.encoder.embeddings.word_embeddings.weight is w
    torch.testing.assert_close(w, sd["encoder.embeddings.word_embeddings.weight"])
    assert e5.save_pretrained(tmp_path / "skip", is_main_process=False) == tmp_path / "skip"
    assert not (tmp_path / "skip").exists()


def test_load_weights_refuses_a_folder_without_weights(e5, tmp_path):
    with pytest.raises(ModelLoadError, match="no model\\*.safetensors in"):
        e5.load_weights(tmp_path)


def test_tower_settings_are_checked(tiny_dir, tmp_path):
    out = DualEncoder.from_pretrained(tiny_dir, separate_towers=True).save_pretrained(tmp_path / "two")
    with pytest.raises(ValueError, match="has separate towers; separate_towers=False cannot merge them"):
        DualEncoder.from_pretrained(out, separate_towers=False)
    shutil.rmtree(out / PASSAGE_SUBFOLDER)
    with pytest.raises(ModelLoadError, match="says shared_towers=false but .*passage_encoder is missing"):
        DualEncoder.from_pretrained(out)
    (out / HF_HYBRID_CONFIG_NAME).write_text("{not json")
    with pytest.raises(ModelLoadError, match=f"{HF_HYBRID_CONFIG_NAME} is not valid JSON .*the checkpoint is damaged"):
        DualEncoder.from_pretrained(out)


def test_saved_settings_win_over_sentence_transformers_files(tiny_dir, tmp_path):
    out = DualEncoder.from_pretrained(tiny_dir, pooling="lasttoken", query_prompt="q: ").save_pretrained(tmp_path / "m")
    config = json.loads((out / HF_HYBRID_CONFIG_NAME).read_text())
    config["query_prompt"] = "ours: "
    (out / HF_HYBRID_CONFIG_NAME).write_text(json.dumps(config))
    m = DualEncoder.from_pretrained(out)
    assert (m.settings.pooling, m.settings.query_prompt) == ("lasttoken", "ours: ")


# --- errors ---------------------------------------------------------------------------------------


def test_unreachable_hub_id_gives_clear_error(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelLoadError) as info:
        DualEncoder.from_pretrained("hf-hybrid-tests/no-such-model-3f9a")
    msg = str(info.value)
    assert "could not load 'hf-hybrid-tests/no-such-model-3f9a': not a local directory and the Hub is unreachable" in msg
    assert "Pass a local path, or run with network once to cache it" in msg
    with pytest.raises(ModelLoadError, match="no such directory"):
        DualEncoder.from_pretrained("./definitely/not/here")
