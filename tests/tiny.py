"""Tiny random BERT encoder for tests (built offline in well under a second).

``tests/conftest.py`` exposes :func:`make_tiny_encoder` as a session fixture; tests that run on their
own can call it directly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from hf_hybrid.modeling.tiny_encoder import build_tiny_encoder

TINY = dict(vocab_size=600, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, max_position_embeddings=128)


def make_tiny_encoder(out_dir: str | os.PathLike, texts: Iterable[str] | None = None, seed: int = 0) -> Path:
    """2 layers, hidden 32, 2 heads, intermediate 64, 128 positions; WordPiece vocab trained on ``texts``."""
    return build_tiny_encoder(out_dir, texts, seed=seed, **TINY)
