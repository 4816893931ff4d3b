"""build_tiny_encoder: a deterministic vocabulary, and a plain HF encoder directory that says what it is."""

from __future__ import annotations

import subprocess
import sys

from hf_hybrid.modeling import build_tiny_encoder


def test_tiny_tokenizer_is_deterministic():
    """The same texts give the same vocabulary in a fresh process (tokenizers' trainer did not)."""
    code = ("from hf_hybrid.modeling.tiny_encoder import train_wordpiece_tokenizer as t; "
            "v = t(['Wie hoch ist der Turm?', 'The tower is 330 m high.', '这座桥有多长', 'high towers'] * 3, "
            "vocab_size=60).get_vocab(); print(sorted(v.items()))")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)}
    assert len(runs) == 1


def test_tiny_encoder_directory(tmp_path):
    from transformers import AutoModel, AutoTokenizer

    out = build_tiny_encoder(tmp_path / "enc", ["a tiny text", "another text"], vocab_size=100, hidden_size=16,
                             num_layers=1, num_heads=2, max_position_embeddings=32)
    assert out == tmp_path / "enc"
    assert "demo model, random init" in (out / "README.md").read_text()
    model = AutoModel.from_pretrained(str(out))
    assert (model.config.hidden_size, model.config.num_hidden_layers, model.config.max_position_embeddings) == (16, 1, 32)
    assert AutoTokenizer.from_pretrained(str(out)).tokenize("a tiny text") == ["a", "tiny", "text"]
