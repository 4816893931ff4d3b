"""ensure_pad_token: borrow eos/sep/cls for padding, or say what to do."""

from __future__ import annotations

import pytest

from hf_hybrid.modeling import ensure_pad_token


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
