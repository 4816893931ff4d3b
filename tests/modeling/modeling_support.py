"""Texts and helpers shared by the modeling tests (importable thanks to tests/modeling/conftest.py)."""

from __future__ import annotations

import torch

from hf_hybrid.modeling import InfoNCELoss

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

# The LoRA tests train on aligned pairs: one passage per query.
LORA_QUERIES = ["What is the capital of France?", "Wie hoch ist der Eiffelturm?", "Who wrote this book?", "x"]
LORA_PASSAGES = [
    "Paris is the capital and largest city of France.",
    "Der Eiffelturm ist 330 Meter hoch.",
    "Leo Tolstoy wrote this book.",
    "The river is long.",
]


def perturb(module, seed=1, scale=0.05):
    """Move every parameter a little, deterministically (so that saved weights differ from the init)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))


def batch(m, texts, role):
    return m.tokenizer.pad(m.tokenize(texts, role), return_tensors="pt")


def train_lora(m, steps=3, lr=1e-2):
    """A few InfoNCE steps on the LoRA pairs, with whatever parameters require grad."""
    opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=lr)
    loss_fn = InfoNCELoss(0.05)
    m.train()
    for _ in range(steps):
        out = m(query=batch(m, LORA_QUERIES, "query"), passage=batch(m, LORA_PASSAGES, "passage"))
        loss = loss_fn(out.query_embeddings, out.passage_embeddings)
        opt.zero_grad()
        loss.backward()
        opt.step()
    m.eval()
