"""LoRA via PEFT: only adapters train, adapter checkpoints, bf16 and checkpointing, no import cycle."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from modeling_support import LORA_PASSAGES as PASSAGES
from modeling_support import LORA_QUERIES as QUERIES
from modeling_support import batch as _batch
from modeling_support import train_lora as _train

from hf_hybrid.checkpoint import HF_HYBRID_CONFIG_NAME, PASSAGE_SUBFOLDER
from hf_hybrid.modeling import DualEncoder, InfoNCELoss, apply_lora, default_target_modules, merge_lora

MODELING = Path(__file__).resolve().parents[2] / "hf_hybrid" / "modeling"


@pytest.fixture(scope="module")
def tiny_dir(lora_tiny_dir):
    return lora_tiny_dir


def test_apply_lora_targets_and_counts(tiny_dir, capsys):
    m = DualEncoder.from_pretrained(tiny_dir)
    assert default_target_modules("bert") == ["query", "key", "value", "dense"]
    assert default_target_modules("mistral") == ["q_proj", "v_proj"]  # PEFT's default
    with pytest.raises(ValueError, match="no default LoRA target modules for model_type='no-such-arch'"):
        default_target_modules("no-such-arch")
    report = apply_lora(m, r=4, alpha=8)
    assert "trainable" in capsys.readouterr().out
    trainable = {n for n, p in m.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    assert not any("pooler" in n for n in trainable)  # unused by DualEncoder, so not adapted
    # 2 layers x (q, k, v, attn-out, intermediate, output) adapters of rank 4
    h, i, r = 32, 64, 4
    per_layer = 4 * (r * h + h * r) + (r * h + i * r) + (r * i + h * r)
    assert report.trainable == 2 * per_layer
    assert report.total == sum(p.numel() for p in m.parameters())
    with pytest.raises(ValueError, match="already has LoRA adapters"):
        apply_lora(m)


def test_apply_lora_checks_its_arguments(tiny_dir):
    m = DualEncoder.from_pretrained(tiny_dir)
    with pytest.raises(ValueError, match="r=0 must be a positive integer"):
        apply_lora(m, r=0, verbose=False)
    with pytest.raises(ValueError, match=r"dropout=1.0 must be in \[0, 1\)"):
        apply_lora(m, dropout=1.0, verbose=False)
    with pytest.raises(ValueError, match="nothing to merge: the model has no LoRA adapters"):
        merge_lora(m)


def test_only_adapter_weights_change(tiny_dir):
    m = DualEncoder.from_pretrained(tiny_dir)
    apply_lora(m, r=4, verbose=False)
    before = {n: p.detach().clone() for n, p in m.named_parameters()}
    _train(m, steps=3)
    changed = {n for n, p in m.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all("lora_" in n for n in changed)
    assert {n for n in before if "lora_B" in n} <= changed  # B starts at zero and must move


def test_adapter_checkpoint_layout_and_reload(lora_model, tmp_path):
    from sentence_transformers import SentenceTransformer

    out = lora_model.save_pretrained(tmp_path / "adapter")
    names = {p.name for p in out.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", HF_HYBRID_CONFIG_NAME, "modules.json",
            "config_sentence_transformers.json", "1_Pooling", "tokenizer.json"} <= names
    assert "model.safetensors" not in names and "config.json" not in names
    ours = json.loads((out / HF_HYBRID_CONFIG_NAME).read_text())
    assert ours["query_prompt"] == "query: " and ours["lora"]["query"]["r"] == 4

    back = DualEncoder.from_pretrained(out)
    np.testing.assert_allclose(back.encode_queries(QUERIES), lora_model.encode_queries(QUERIES), atol=1e-6)
    assert not any(p.requires_grad for p in back.parameters())  # loaded for inference
    trainable = DualEncoder.from_pretrained(out, lora=True)
    assert {n for n, p in trainable.named_parameters() if p.requires_grad} == {
        n for n, p in lora_model.named_parameters() if p.requires_grad
    }
    with pytest.raises(ValueError, match="already holds LoRA adapters; pass lora=True"):
        DualEncoder.from_pretrained(out, lora={"r": 2})
    # sentence-transformers resolves the base model from adapter_config.json
    st = SentenceTransformer(str(out), device="cpu")
    np.testing.assert_allclose(st.encode_query(QUERIES), lora_model.encode_queries(QUERIES), atol=1e-5)


def test_separate_towers_with_lora_roundtrip(tiny_dir, tmp_path):
    from hf_hybrid.modeling import merge_and_export

    base = DualEncoder.from_pretrained(tiny_dir, separate_towers=True)
    with torch.no_grad():  # make the passage tower differ from the query tower
        for p in base.passage_encoder.parameters():
            p.add_(0.05 * torch.randn_like(p))
    m = DualEncoder.from_pretrained(base.save_pretrained(tmp_path / "base"))  # towers load from root and passage_encoder/
    apply_lora(m, r=2, verbose=False)
    _train(m, steps=2)
    out = m.save_pretrained(tmp_path / "two")
    assert (out / PASSAGE_SUBFOLDER / "adapter_model.safetensors").exists()
    back = DualEncoder.from_pretrained(out)
    np.testing.assert_allclose(back.encode_passages(PASSAGES), m.encode_passages(PASSAGES), atol=1e-6)
    merged = DualEncoder.from_pretrained(merge_and_export(out, tmp_path / "merged"))
    np.testing.assert_allclose(merged.encode_passages(PASSAGES), m.encode_passages(PASSAGES), atol=1e-5)
    np.testing.assert_allclose(merged.encode_queries(QUERIES), m.encode_queries(QUERIES), atol=1e-5)


def test_from_pretrained_with_lora_config(tiny_dir):
    m = DualEncoder.from_pretrained(tiny_dir, lora={"r": 2, "target_modules": ["query", "value"]})
    trainable = [n for n, p in m.named_parameters() if p.requires_grad]
    assert trainable and all(("query" in n or "value" in n) and "lora_" in n for n in trainable)


def test_bf16_autocast_and_checkpointing_with_lora(tiny_dir):
    m = DualEncoder.from_pretrained(tiny_dir)
    apply_lora(m, r=4, verbose=False)
    m.gradient_checkpointing_enable()
    base = m.encoder.get_base_model()
    assert all(layer.gradient_checkpointing for layer in base.encoder.layer) and m.is_activation_checkpointing
    m.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = m(query=_batch(m, QUERIES, "query"), passage=_batch(m, PASSAGES, "passage"))
        loss = InfoNCELoss(0.05)(out.query_embeddings, out.passage_embeddings)
    assert out.query_embeddings.dtype == torch.float32  # pooled in float32 for the loss
    loss.backward()
    grads = [p.grad for n, p in m.named_parameters() if "lora_" in n]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)
    assert all(p.grad is None for n, p in m.named_parameters() if "lora_" not in n)


def test_bf16_weights(tiny_dir):
    m = DualEncoder.from_pretrained(tiny_dir, dtype=torch.bfloat16)
    assert m.dtype == torch.bfloat16
    e = m.encode_queries(QUERIES)
    assert e.dtype == np.float32 and np.isfinite(e).all()


def test_plain_peft_adapter_dir_resolves_its_base(lora_model, tmp_path):
    lora_model.encoder.save_pretrained(str(tmp_path / "peft"))  # PEFT's own layout: no tokenizer, no settings
    m = DualEncoder.from_pretrained(tmp_path / "peft", query_prompt="query: ", passage_prompt="passage: ")
    np.testing.assert_allclose(m.encode_queries(QUERIES), lora_model.encode_queries(QUERIES), atol=1e-6)


def test_load_weights_restores_adapters_in_place(lora_model, tiny_dir, tmp_path):
    out = lora_model.save_pretrained(tmp_path / "adapter")
    fresh = DualEncoder.from_pretrained(tiny_dir, query_prompt="query: ", passage_prompt="passage: ")
    apply_lora(fresh, r=4, alpha=8, verbose=False)
    params = {n: p for n, p in fresh.named_parameters()}
    fresh.load_weights(out)
    assert all(p is params[n] for n, p in fresh.named_parameters())  # optimizer references stay valid
    np.testing.assert_allclose(fresh.encode_queries(QUERIES), lora_model.encode_queries(QUERIES), atol=1e-6)


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (function-level and TYPE_CHECKING imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = "hf_hybrid.modeling." + node.module if node.level else node.module
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def test_lora_does_not_import_the_dual_encoder():
    """The old model <-> lora import cycle stays broken: lora works on any object with towers."""
    for name in ("lora.py", "towers.py"):
        imported = _imported_modules(MODELING / name)
        assert "hf_hybrid.modeling.dual_encoder" not in imported, f"modeling/{name} imports dual_encoder"
        assert "hf_hybrid.modeling" not in imported, f"modeling/{name} imports the package (and so dual_encoder)"
