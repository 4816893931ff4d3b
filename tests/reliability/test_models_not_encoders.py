"""Issue 16: a model that is not a text encoder is rejected by DualEncoder.from_pretrained, with a message.

Decoder-only language models (GPT-2, Llama ``*ForCausalLM``) and sequence-to-sequence models (T5, BART) are
refused before any weights load, naming the model type and what to use instead. Decoder-based *embedding*
models stay loadable: when the folder says how to embed (sentence-transformers modules, hf_hybrid_config.json),
with ``pooling="lasttoken"``, or with ``allow_decoder=True``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from tiny import make_tiny_encoder

from hf_hybrid.checkpoint import ModelLoadError
from hf_hybrid.modeling import DualEncoder

TEXTS = ["where is A?", "wo ist A?", "A is here.", "A hier."]


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory) -> Path:
    return make_tiny_encoder(tmp_path_factory.mktemp("enc") / "bert", TEXTS)


def _save(folder: Path, model, tokenizer_dir: Path) -> Path:
    model.save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tokenizer_dir / name, folder / name)
    return folder


def _vocab(tokenizer_dir: Path) -> int:
    return len(json.loads((tokenizer_dir / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"])


@pytest.fixture(scope="module")
def gpt2_dir(tmp_path_factory, tokenizer_dir) -> Path:
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(n_layer=1, n_embd=32, n_head=2, n_positions=64, vocab_size=_vocab(tokenizer_dir))
    return _save(tmp_path_factory.mktemp("gpt2") / "gpt2", GPT2LMHeadModel(config), tokenizer_dir)


@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory, tokenizer_dir) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=_vocab(tokenizer_dir), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64)
    return _save(tmp_path_factory.mktemp("llama") / "llama", LlamaForCausalLM(config), tokenizer_dir)


@pytest.fixture(scope="module")
def t5_dir(tmp_path_factory, tokenizer_dir) -> Path:
    from transformers import T5Config, T5ForConditionalGeneration

    config = T5Config(vocab_size=_vocab(tokenizer_dir), d_model=32, d_kv=16, d_ff=64, num_layers=1, num_heads=2,
                      decoder_start_token_id=0)
    return _save(tmp_path_factory.mktemp("t5") / "t5", T5ForConditionalGeneration(config), tokenizer_dir)


@pytest.fixture(scope="module")
def bart_dir(tmp_path_factory, tokenizer_dir) -> Path:
    from transformers import BartConfig, BartForConditionalGeneration

    config = BartConfig(vocab_size=_vocab(tokenizer_dir), d_model=32, encoder_layers=1, decoder_layers=1,
                        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
                        max_position_embeddings=64)
    return _save(tmp_path_factory.mktemp("bart") / "bart", BartForConditionalGeneration(config), tokenizer_dir)


@pytest.mark.parametrize("fixture, model_type, architecture", [
    ("gpt2_dir", "gpt2", "GPT2LMHeadModel"), ("llama_dir", "llama", "LlamaForCausalLM")])
def test_models_decoder_only_is_rejected(request, fixture, model_type, architecture, monkeypatch):
    import transformers

    folder = request.getfixturevalue(fixture)
    loaded = []
    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", lambda *a, **k: loaded.append(a))
    with pytest.raises(ModelLoadError) as info:
        DualEncoder.from_pretrained(str(folder))
    message = str(info.value)
    assert f"model_type '{model_type}'" in message and architecture in message
    assert "decoder-only" in message and "not a text encoder" in message
    assert "xlm-roberta-base" in message  # what to use instead
    assert "pooling='lasttoken'" in message and "allow_decoder=True" in message  # and how to opt in
    assert loaded == []  # refused before any weights load


@pytest.mark.parametrize("fixture, model_type, architecture", [
    ("t5_dir", "t5", "T5ForConditionalGeneration"), ("bart_dir", "bart", "BartForConditionalGeneration")])
def test_models_seq2seq_is_rejected(request, fixture, model_type, architecture):
    folder = request.getfixturevalue(fixture)
    with pytest.raises(ModelLoadError) as info:
        DualEncoder.from_pretrained(str(folder))
    message = str(info.value)
    assert f"model_type '{model_type}'" in message and architecture in message
    assert "sequence-to-sequence" in message and "not a text encoder" in message
    assert "xlm-roberta-base" in message
    with pytest.raises(ModelLoadError, match="sequence-to-sequence"):  # no opt-in: AutoModel builds the whole seq2seq
        DualEncoder.from_pretrained(str(folder), pooling="lasttoken", allow_decoder=True)


def test_models_decoder_opt_ins(gpt2_dir, tmp_path):
    last = DualEncoder.from_pretrained(str(gpt2_dir), pooling="lasttoken")  # the decoder-embedding recipe
    assert last.get_config_dict()["pooling"] == "lasttoken"
    assert np.isfinite(last.encode_queries(TEXTS)).all()
    mean = DualEncoder.from_pretrained(str(gpt2_dir), allow_decoder=True)
    assert mean.get_config_dict()["pooling"] == "mean"
    # a saved decoder-based retriever says how to embed it: it loads again without an opt-in
    mean.save_pretrained(tmp_path / "saved")
    again = DualEncoder.from_pretrained(str(tmp_path / "saved"))
    np.testing.assert_allclose(again.encode_queries(TEXTS), mean.encode_queries(TEXTS), atol=1e-6)


def test_models_encoders_still_load(tokenizer_dir):
    model = DualEncoder.from_pretrained(str(tokenizer_dir))  # a BERT encoder: no opt-in needed
    assert model.encode_queries(TEXTS).shape == (len(TEXTS), 32)
