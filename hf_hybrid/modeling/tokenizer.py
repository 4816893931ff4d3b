"""``ensure_pad_token``: every tokenizer a DualEncoder uses can pad.

Why: batching needs padding, and decoder-style tokenizers (e5-mistral, Qwen embedders...) often ship
without a pad token. The pad value never reaches the pooled embedding (it is masked out), so borrowing
an existing special token is safe; inventing a new one would need resizing the embeddings.
"""

from __future__ import annotations

import warnings

from transformers import PreTrainedTokenizerBase


def ensure_pad_token(tokenizer: PreTrainedTokenizerBase, name: str = "tokenizer") -> PreTrainedTokenizerBase:
    """Give ``tokenizer`` a pad token if it lacks one (eos, then sep, then cls), else raise ``ValueError``."""
    if tokenizer.pad_token is not None:
        return tokenizer
    for attr in ("eos_token", "sep_token", "cls_token"):
        token = getattr(tokenizer, attr, None)
        if token is not None:
            warnings.warn(
                f"{name} has no pad token; using its {attr} {token!r} for padding "
                "(padding is masked out of the embeddings, so this does not change them)",
                stacklevel=3,
            )
            tokenizer.pad_token = token
            return tokenizer
    raise ValueError(
        f"{name} ({type(tokenizer).__name__}) has no pad token and no eos/sep/cls token to pad with. "
        "Set one before building the DualEncoder, e.g. tokenizer.pad_token = '<pad>' "
        "(and resize the model's embeddings if that token is new)."
    )
