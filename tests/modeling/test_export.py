"""merge_and_export: a merged full model gives the embeddings of base + adapter, with no PEFT involved."""

from __future__ import annotations

import numpy as np
import pytest
from modeling_support import LORA_PASSAGES as PASSAGES
from modeling_support import LORA_QUERIES as QUERIES

from hf_hybrid.modeling import DualEncoder, merge_and_export


def test_merge_matches_base_plus_adapter(lora_model, tmp_path):
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel

    expected_q = lora_model.encode_queries(QUERIES)
    expected_p = lora_model.encode_passages(PASSAGES)
    merged_dir = merge_and_export(lora_model, tmp_path / "merged")
    names = {p.name for p in merged_dir.iterdir()}
    assert "model.safetensors" in names and "adapter_config.json" not in names
    merged = DualEncoder.from_pretrained(merged_dir)
    np.testing.assert_allclose(merged.encode_queries(QUERIES), expected_q, atol=1e-5)
    np.testing.assert_allclose(merged.encode_passages(PASSAGES), expected_p, atol=1e-5)
    assert not any("lora" in k for k in AutoModel.from_pretrained(str(merged_dir)).state_dict())
    st = SentenceTransformer(str(merged_dir), device="cpu")
    np.testing.assert_allclose(st.encode_query(QUERIES), expected_q, atol=1e-5)
    # the LoRA model itself is untouched, and an adapter directory merges the same way
    np.testing.assert_allclose(lora_model.encode_queries(QUERIES), expected_q, atol=0)
    lora_model.save_pretrained(tmp_path / "adapter")
    again = DualEncoder.from_pretrained(merge_and_export(tmp_path / "adapter", tmp_path / "merged2"))
    np.testing.assert_allclose(again.encode_queries(QUERIES), expected_q, atol=1e-5)


def test_merged_model_has_no_lora_and_carries_extra_files(lora_model, tmp_path):
    out = merge_and_export(lora_model, tmp_path / "merged", model_card="# merged\n", extra_files={"note.txt": "hi"})
    assert (out / "README.md").read_text() == "# merged\n" and (out / "note.txt").read_text() == "hi"
    merged = DualEncoder.from_pretrained(out)
    assert merged.get_config_dict()["lora"] is None
    with pytest.raises(ValueError, match="nothing to merge"):
        merge_and_export(out, tmp_path / "again")
