"""Issue 16, case 3: the embedding cache key covers everything that changes an embedding.

Weights, retrieval settings, the encoder's architecture config, and the tokenizer's *content*: two
tokenizers of the same class and size with a different vocabulary must not share cached embeddings.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from retrieval_fixtures import tiny_pool
from tiny import make_tiny_encoder

from hf_hybrid.evaluation import evaluate_model, model_fingerprint
from hf_hybrid.evaluation.cache import encoding_settings

TEXTS = ["where is A?", "wo ist A?", "what is B?", "A is here.", "B is this.", "A hier, B das.", "Nichts."]


def _swap_tokens(folder: Path, a: str, b: str) -> None:
    """Swap the ids of tokens ``a`` and ``b`` in tokenizer.json: same class, same size, other content."""
    path = folder / "tokenizer.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    vocab = data["model"]["vocab"]
    vocab[a], vocab[b] = vocab[b], vocab[a]
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.fixture(scope="module")
def twin_encoders(tmp_path_factory) -> tuple[Path, Path]:
    """Two encoders with identical weights whose tokenizers differ only by two swapped token ids."""
    root = tmp_path_factory.mktemp("twins")
    a = make_tiny_encoder(root / "a", TEXTS)
    b = root / "b"
    shutil.copytree(a, b)
    _swap_tokens(b, "a", "b")  # both occur in the pool's texts
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    return a, b


def _counting(model):
    """Record every text the model encodes (the cache must ask it again after a tokenizer change)."""
    seen: list[str] = []
    for name in ("encode_queries", "encode_passages"):
        original = getattr(model, name)

        def wrapped(texts, _original=original, **kwargs):
            seen.extend(texts)
            return _original(texts, **kwargs)

        setattr(model, name, wrapped)
    return seen


def test_cache_fingerprint_covers_the_tokenizer_content(twin_encoders):
    from hf_hybrid.modeling import DualEncoder

    a, b = (DualEncoder.from_pretrained(str(p)) for p in twin_encoders)
    assert type(a.tokenizer) is type(b.tokenizer) and len(a.tokenizer) == len(b.tokenizer)
    assert a.tokenizer.get_vocab() != b.tokenizer.get_vocab()
    assert model_fingerprint(a) != model_fingerprint(b)
    # the same model loaded twice keys the same entries (the cache still hits)
    assert model_fingerprint(a) == model_fingerprint(DualEncoder.from_pretrained(str(twin_encoders[0])))


def test_cache_no_stale_embeddings_after_a_vocabulary_change(twin_encoders, tmp_path):
    from hf_hybrid.modeling import DualEncoder

    pool = tiny_pool()
    a, b = (DualEncoder.from_pretrained(str(p)) for p in twin_encoders)
    assert not np.allclose(a.encode_queries(pool.query_texts), b.encode_queries(pool.query_texts))
    evaluate_model(a, pool, cache_dir=tmp_path)
    seen = _counting(b)
    cached = evaluate_model(b, pool, cache_dir=tmp_path)
    assert set(seen) == set(pool.query_texts) | set(pool.cand_texts)  # nothing reused from model a
    assert cached.metrics == evaluate_model(b, pool, cache_dir=None).metrics
    seen.clear()
    assert evaluate_model(b, pool, cache_dir=tmp_path).metrics == cached.metrics and seen == []  # b's own hits


def test_cache_key_covers_settings_and_architecture_config(twin_encoders, tmp_path):
    from hf_hybrid.modeling import DualEncoder

    path = str(twin_encoders[0])
    base = DualEncoder.from_pretrained(path)
    for changed in (DualEncoder.from_pretrained(path, pooling="cls"),
                    DualEncoder.from_pretrained(path, normalize=False),
                    DualEncoder.from_pretrained(path, query_prompt="query: "),
                    DualEncoder.from_pretrained(path, query_max_length=8)):
        assert encoding_settings(changed, "query") != encoding_settings(base, "query")
    # the same weights under an edited config.json (another activation) give other embeddings
    edited = tmp_path / "relu"
    shutil.copytree(path, edited)
    config = json.loads((edited / "config.json").read_text(encoding="utf-8"))
    config["hidden_act"] = "relu"
    (edited / "config.json").write_text(json.dumps(config), encoding="utf-8")
    other = DualEncoder.from_pretrained(str(edited))
    assert not np.allclose(other.encode_queries(TEXTS), base.encode_queries(TEXTS))
    assert model_fingerprint(other) != model_fingerprint(base)
    # ... but the model's location is not part of its identity
    moved = tmp_path / "moved"
    shutil.copytree(path, moved)
    assert model_fingerprint(DualEncoder.from_pretrained(str(moved))) == model_fingerprint(base)
