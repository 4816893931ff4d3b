"""DualEncoder: pooling, tokenisation, encode, the saved layout (ST / AutoModel parity), atomic saves, errors."""

from __future__ import annotations

import json
import os

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import numpy as np
import pytest
import torch
from tiny import make_tiny_encoder

from hf_hybrid import model as model_mod
from hf_hybrid.model import (
    CONFIG_NAME,
    PASSAGE_SUBFOLDER,
    DualEncoder,
    ModelLoadError,
    ensure_pad_token,
    pool,
)

QUERIES = [
    "What is the capital of France?",
    "Wie hoch ist der Eiffelturm?",
    "x",
    "¿Cuándo se fundó la universidad? " * 3,
    "这座桥有多长？",
]
PASSAGES = [
    "Paris is the capital and largest city of France.",
    "Der Eiffelturm ist 330 Meter hoch.",
    "La universidad se fundó en 1088. " * 20,
]

# so that the prompts tokenize to real tokens rather than [UNK]
PROMPT_TEXTS = ["query: passage: q: p:"] * 3


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return make_tiny_encoder(tmp_path_factory.mktemp("tiny") / "enc", texts=QUERIES + PASSAGES + PROMPT_TEXTS)


@pytest.fixture
def e5(tiny_dir):
    return DualEncoder.from_pretrained(tiny_dir, query_prompt="query: ", passage_prompt="passage: ")


def _perturb(module, seed=1, scale=0.05):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))


# --- pooling -------------------------------------------------------------------------------------


def test_pool_modes_ignore_padding_on_both_sides():
    h = torch.arange(2 * 4 * 2, dtype=torch.float32).reshape(2, 4, 2)
    right = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    left = torch.tensor([[0, 1, 1, 1], [0, 0, 1, 1]])
    assert torch.equal(pool(h, right, "mean"), torch.stack([h[0, :3].mean(0), h[1, :2].mean(0)]))
    assert torch.equal(pool(h, right, "cls"), h[:, 0])
    assert torch.equal(pool(h, right, "lasttoken"), torch.stack([h[0, 2], h[1, 1]]))
    assert torch.equal(pool(h, left, "cls"), torch.stack([h[0, 1], h[1, 2]]))
    assert torch.equal(pool(h, left, "lasttoken"), h[:, 3])
    assert torch.equal(pool(h, left, "mean"), torch.stack([h[0, 1:].mean(0), h[1, 2:].mean(0)]))


def test_pooling_names_are_validated(tiny_dir):
    assert DualEncoder.from_pretrained(tiny_dir, pooling="last-token").settings.pooling == "lasttoken"
    with pytest.raises(ValueError, match="pooling='max' is not supported"):
        DualEncoder.from_pretrained(tiny_dir, pooling="max")


# --- tokenize / embed / encode -------------------------------------------------------------------


def test_tokenize_prepends_prompt_truncates_and_does_not_pad(tiny_dir):
    m = DualEncoder.from_pretrained(tiny_dir, query_prompt="query: ", passage_prompt="passage: ", query_max_length=8)
    enc = m.tokenize([QUERIES[0], "x"], kind="query")
    plain = m.tokenizer(["query: " + QUERIES[0]])["input_ids"][0]
    assert enc["input_ids"][0] == plain[:7] + [m.tokenizer.sep_token_id]  # truncated to 8 tokens
    assert all(len(ids) <= 8 for ids in enc["input_ids"])
    assert len(plain) > 8 and len(enc["input_ids"][1]) < 8  # truncated, and not padded
    p = m.tokenize(PASSAGES[0], kind="passage")
    assert p["input_ids"][0] == m.tokenizer(["passage: " + PASSAGES[0]])["input_ids"][0]
    with pytest.raises(ValueError, match="kind='doc'"):
        m.tokenize(["a"], kind="doc")


def test_encode_matches_unbatched_and_keeps_order(e5):
    batched = e5.encode_queries(QUERIES, batch_size=2)
    one_by_one = np.stack([e5.encode_queries(q) for q in QUERIES])
    assert batched.shape == (len(QUERIES), 32) and batched.dtype == np.float32
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-6)
    t = e5.encode(QUERIES, kind="query", convert_to="torch")
    assert isinstance(t, torch.Tensor) and not t.requires_grad
    np.testing.assert_allclose(t.numpy(), batched, atol=1e-6)
    # prompts matter: query and passage encodings of the same text differ
    assert not np.allclose(e5.encode_passages(QUERIES[0]), batched[0])
    assert e5.training  # encode restores the training flag


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
            "2_Normalize", CONFIG_NAME, "config.json", "model.safetensors", "tokenizer.json"} <= files
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
    assert json.loads((out / CONFIG_NAME).read_text())["shared_towers"] is False

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


# --- atomic saves ---------------------------------------------------------------------------------


def _crash(*args, **kwargs):
    raise RuntimeError("simulated crash while writing")


def test_crash_during_save_leaves_nothing_behind(e5, tmp_path, monkeypatch):
    monkeypatch.setattr(DualEncoder, "_write_configs", _crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        e5.save_pretrained(tmp_path / "ckpt")
    assert list(tmp_path.iterdir()) == []  # no target, no temp dir


def test_crash_during_overwrite_keeps_previous_checkpoint(e5, tmp_path, monkeypatch):
    out = e5.save_pretrained(tmp_path / "ckpt")
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    _perturb(e5)
    monkeypatch.setattr(DualEncoder, "_write_configs", _crash)
    with pytest.raises(RuntimeError):
        e5.save_pretrained(out)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_save_into_nonempty_dir_keeps_foreign_entries(tiny_dir, tmp_path):
    two = DualEncoder.from_pretrained(tiny_dir, separate_towers=True)
    out = two.save_pretrained(tmp_path / "run")
    (out / "checkpoint-5").mkdir()
    (out / "checkpoint-5" / "trainer_state.json").write_text("{}")
    (out / "training_args.bin").write_bytes(b"x")
    one = DualEncoder.from_pretrained(tiny_dir, pooling="cls")
    one.save_pretrained(out, model_card="# card\n", extra_files={"configs/train.yaml": "lr: 1\n"})
    names = {p.name for p in out.iterdir()}
    assert {"checkpoint-5", "training_args.bin", "README.md", "configs"} <= names
    assert PASSAGE_SUBFOLDER not in names and "router_config.json" not in names  # stale entries removed
    assert (out / "README.md").read_text() == "# card\n"
    back = DualEncoder.from_pretrained(out)
    assert back.shared_towers and back.settings.pooling == "cls"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_atomic_write_markers_come_last(tmp_path, monkeypatch):
    """While files are moved into an existing directory, no marker file (config.json...) is present."""
    target = tmp_path / "m"
    target.mkdir()
    (target / "config.json").write_text("old")
    (target / "model.safetensors").write_text("old")
    (target / "keep.txt").write_text("mine")
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        real_replace(src, dst)
        if str(dst).startswith(str(target)) and os.path.dirname(str(dst)) == str(target):
            seen.append((os.path.basename(str(dst)), (target / "config.json").exists()))

    monkeypatch.setattr(model_mod.os, "replace", spy)

    def write(tmp):
        (tmp / "config.json").write_text("new")
        (tmp / "model.safetensors").write_text("new")

    model_mod.atomic_write_dir(target, write)
    assert seen == [("model.safetensors", False), ("config.json", True)]
    assert (target / "config.json").read_text() == "new" and (target / "keep.txt").read_text() == "mine"


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


def test_pad_token_fallback_and_error(tiny_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_dir))
    tok.pad_token = None
    with pytest.warns(UserWarning, match=r"no pad token; using its sep_token '\[SEP\]'"):
        ensure_pad_token(tok)
    assert tok.pad_token == "[SEP]"
    tok.pad_token = tok.sep_token = tok.cls_token = None
    with pytest.raises(ValueError, match="has no pad token and no eos/sep/cls token"):
        ensure_pad_token(tok)


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


def test_demo_tokenizer_is_deterministic():
    """The same texts give the same vocabulary in a fresh process (tokenizers' trainer did not)."""
    import subprocess
    import sys

    code = ("from hf_hybrid.demo_model import train_wordpiece_tokenizer as t; "
            "v = t(['Wie hoch ist der Turm?', 'The tower is 330 m high.', '这座桥有多长', 'high towers'] * 3, "
            "vocab_size=60).get_vocab(); print(sorted(v.items()))")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)}
    assert len(runs) == 1
