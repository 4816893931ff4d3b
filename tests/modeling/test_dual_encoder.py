"""DualEncoder: tokenisation, encode, forward, the saved layout (ST / AutoModel parity), get_config_dict."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from modeling_support import PASSAGES, QUERIES, perturb

from hf_hybrid.checkpoint import HF_HYBRID_CONFIG_NAME, PASSAGE_SUBFOLDER
from hf_hybrid.modeling import DualEncoder, apply_lora

_perturb = perturb


# --- tokenize / embed / encode -------------------------------------------------------------------


def test_tokenize_prepends_prompt_truncates_and_does_not_pad(tiny_dir):
    m = DualEncoder.from_pretrained(tiny_dir, query_prompt="query: ", passage_prompt="passage: ", query_max_length=8)
    enc = m.tokenize([QUERIES[0], "x"], role="query")
    plain = m.tokenizer(["query: " + QUERIES[0]])["input_ids"][0]
    assert enc["input_ids"][0] == plain[:7] + [m.tokenizer.sep_token_id]  # truncated to 8 tokens
    assert all(len(ids) <= 8 for ids in enc["input_ids"])
    assert len(plain) > 8 and len(enc["input_ids"][1]) < 8  # truncated, and not padded
    p = m.tokenize(PASSAGES[0], role="passage")
    assert p["input_ids"][0] == m.tokenizer(["passage: " + PASSAGES[0]])["input_ids"][0]
    with pytest.raises(ValueError, match="role='doc'"):
        m.tokenize(["a"], role="doc")


def test_encode_matches_unbatched_and_keeps_order(e5):
    batched = e5.encode_queries(QUERIES, batch_size=2)
    one_by_one = np.stack([e5.encode_queries(q) for q in QUERIES])
    assert batched.shape == (len(QUERIES), 32) and batched.dtype == np.float32
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-6)
    t = e5.encode(QUERIES, role="query", convert_to="torch")
    assert isinstance(t, torch.Tensor) and not t.requires_grad
    np.testing.assert_allclose(t.numpy(), batched, atol=1e-6)
    # prompts matter: query and passage encodings of the same text differ
    assert not np.allclose(e5.encode_passages(QUERIES[0]), batched[0])
    assert e5.training  # encode restores the training flag


def test_encode_edge_cases_and_bad_arguments(e5):
    assert e5.encode_queries([]).shape == (0, 32)
    with pytest.raises(ValueError, match="convert_to='list'"):
        e5.encode(QUERIES, convert_to="list")
    with pytest.raises(ValueError, match="batch_size=0 must be a positive integer"):
        e5.encode(QUERIES, batch_size=0)
    with pytest.raises(TypeError, match=r"texts\[1\] is int, expected str"):
        e5.encode(["a", 3])


def test_embed_is_differentiable_and_forward_returns_all_embeddings(e5):
    tok = e5.tokenizer
    q = tok.pad(e5.tokenize(QUERIES[:2], "query"), return_tensors="pt")
    p = tok.pad(e5.tokenize(PASSAGES[:2], "passage"), return_tensors="pt")
    n = tok.pad(e5.tokenize(PASSAGES, "passage"), return_tensors="pt")
    out = e5(query=q, passage=p, negatives=n)
    assert out.query_embeddings.shape == (2, 32) and out.negative_embeddings.shape == (3, 32)
    assert out.passage_embeddings.requires_grad
    q_emb, p_emb, n_emb = out  # unpacks like a tuple (what the Trainer does)
    assert n_emb is out.negative_embeddings
    (out.query_embeddings @ out.passage_embeddings.T).sum().backward()
    assert e5.encoder.embeddings.word_embeddings.weight.grad is not None
    assert e5.config is e5.encoder.config  # what HF Trainer reads


def test_unnormalized_embeddings(tiny_dir):
    m = DualEncoder.from_pretrained(tiny_dir, normalize=False)
    norms = np.linalg.norm(m.encode_queries(QUERIES), axis=1)
    assert not np.allclose(norms, 1.0)


def test_gradient_checkpointing_passthrough(e5):
    e5.gradient_checkpointing_enable()
    assert e5.encoder.encoder.layer[0].gradient_checkpointing and e5.is_activation_checkpointing
    q = e5.tokenizer.pad(e5.tokenize(QUERIES[:2], "query"), return_tensors="pt")
    e5.embed(q, "query").sum().backward()
    assert e5.encoder.encoder.layer[0].attention.self.query.weight.grad is not None
    e5.gradient_checkpointing_disable()
    assert not e5.is_activation_checkpointing


# --- save / load parity ---------------------------------------------------------------------------


@pytest.mark.parametrize("pooling", ["mean", "cls", "lasttoken"])
def test_saved_model_matches_sentence_transformers(tiny_dir, tmp_path, pooling):
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel

    m = DualEncoder.from_pretrained(
        tiny_dir, pooling=pooling, query_prompt="query: ", passage_prompt="passage: ", query_max_length=16
    )
    _perturb(m)
    out = m.save_pretrained(tmp_path / "ckpt")
    assert out == tmp_path / "ckpt"
    files = {p.name for p in out.iterdir()}
    assert {"modules.json", "sentence_bert_config.json", "config_sentence_transformers.json", "1_Pooling",
            "2_Normalize", HF_HYBRID_CONFIG_NAME, "config.json", "model.safetensors", "tokenizer.json"} <= files
    st_cfg = json.loads((out / "config_sentence_transformers.json").read_text())
    assert st_cfg["prompts"] == {"query": "query: ", "document": "passage: ", "passage": "passage: "}
    assert st_cfg["default_prompt_name"] is None

    st = SentenceTransformer(str(out), device="cpu")
    np.testing.assert_allclose(st.encode_query(QUERIES), m.encode_queries(QUERIES), atol=1e-5)
    np.testing.assert_allclose(st.encode_document(PASSAGES), m.encode_passages(PASSAGES), atol=1e-5)
    # the long query is truncated at 16 tokens by both
    assert st[0].query_length == 16

    hf = AutoModel.from_pretrained(str(out))
    torch.testing.assert_close(hf.embeddings.word_embeddings.weight, m.encoder.embeddings.word_embeddings.weight)

    back = DualEncoder.from_pretrained(out)
    assert back.settings == m.settings
    np.testing.assert_allclose(back.encode_queries(QUERIES), m.encode_queries(QUERIES), atol=1e-6)


def test_separate_towers_roundtrip_and_st_router(tiny_dir, tmp_path):
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel

    m = DualEncoder.from_pretrained(tiny_dir, separate_towers=True, query_prompt="q: ", passage_prompt="p: ")
    assert not m.shared_towers
    _perturb(m.passage_encoder, seed=2)
    out = m.save_pretrained(tmp_path / "two")
    assert (out / PASSAGE_SUBFOLDER / "model.safetensors").exists()
    assert json.loads((out / HF_HYBRID_CONFIG_NAME).read_text())["shared_towers"] is False

    back = DualEncoder.from_pretrained(out)
    assert not back.shared_towers
    np.testing.assert_allclose(back.encode_passages(PASSAGES), m.encode_passages(PASSAGES), atol=1e-6)
    np.testing.assert_allclose(back.encode_queries(QUERIES), m.encode_queries(QUERIES), atol=1e-6)
    assert not np.allclose(m.encode(PASSAGES, "passage"), m.encode(PASSAGES, "query"))

    # ST routes queries to the root tower and documents to passage_encoder/
    st = SentenceTransformer(str(out), device="cpu")
    np.testing.assert_allclose(st.encode_query(QUERIES), m.encode_queries(QUERIES), atol=1e-5)
    np.testing.assert_allclose(st.encode_document(PASSAGES), m.encode_passages(PASSAGES), atol=1e-5)
    # AutoModel on the root loads the query tower
    hf = AutoModel.from_pretrained(str(out))
    torch.testing.assert_close(hf.pooler.dense.weight, m.encoder.pooler.dense.weight)


def test_save_pretrained_refuses_pickles_and_paths_outside(e5, tmp_path):
    with pytest.raises(ValueError, match="safe_serialization=False is not supported"):
        e5.save_pretrained(tmp_path / "x", safe_serialization=False)
    with pytest.raises(ValueError, match=r"extra_files key '\.\./evil' must be a relative path"):
        e5.save_pretrained(tmp_path / "x", extra_files={"../evil": "x"})
    assert not (tmp_path / "x").exists() and not (tmp_path / "evil").exists()


# --- get_config_dict ------------------------------------------------------------------------------


def test_get_config_dict_without_lora(tiny_dir):
    m = DualEncoder.from_pretrained(tiny_dir, pooling="cls", query_prompt="query: ", passage_prompt="passage: ",
                                    query_max_length=16, separate_towers=True)
    assert m.get_config_dict() == {
        "pooling": "cls",
        "normalize": True,
        "query_prompt": "query: ",
        "passage_prompt": "passage: ",
        "query_max_length": 16,
        "passage_max_length": 128,
        "shared_towers": False,
        "lora": None,
    }
    json.dumps(m.get_config_dict())  # JSON-ready


def test_get_config_dict_with_lora(tiny_dir):
    m = DualEncoder.from_pretrained(tiny_dir, normalize=False)
    apply_lora(m, r=4, alpha=8, dropout=0.1, target_modules=["value", "query"], verbose=False)
    config = m.get_config_dict()
    assert config == {
        "pooling": "mean",
        "normalize": False,
        "query_prompt": "",
        "passage_prompt": "",
        "query_max_length": 64,
        "passage_max_length": 128,
        "shared_towers": True,
        "lora": {"r": 4, "lora_alpha": 8, "lora_dropout": 0.1, "target_modules": ["query", "value"]},
    }
    assert json.loads(json.dumps(config)) == config
