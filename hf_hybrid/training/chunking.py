"""Texts of one training step in chunks: each chunk padded to its own longest, optionally sorted by length.

Why: a batch padded to its longest sequence spends much of its compute on pad tokens (queries and answer
sentences vary a lot in length), and a big contrastive batch does not fit in memory at once. Encoding a
role's texts in chunks of at most ``mini_batch_size`` texts bounds the memory of one forward pass (with
gradient caching, :mod:`hf_hybrid.training.grad_cache`), and filling each chunk with texts of similar token
length (``length_sorted_chunks``) removes most of the padding. With mean pooling over the attention mask,
padding does not change an embedding (up to float noise), so the results are those of the padded batch.

The chunked form of one role (queries, passages or negatives) is a dict ``{"chunks": [padded inputs, ...],
"order": LongTensor}``: ``order`` lists the batch rows in the order the chunks hold them, so the
concatenated chunk embeddings go back to batch order with :func:`restore_order`. The collator builds it
from token lists (:func:`pad_in_chunks`); a batch that arrives padded is cut with :func:`split_padded`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

CHUNKS = "chunks"
ORDER = "order"


def check_chunk_size(size: Any, name: str = "mini_batch_size") -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise ValueError(f"{name}={size!r} must be a positive integer (or None: one forward pass per step)")
    return size


def is_chunked(inputs: Any) -> bool:
    """Whether ``inputs`` is the chunked form of one role (rather than one padded batch)."""
    return isinstance(inputs, Mapping) and CHUNKS in inputs and ORDER in inputs


def chunk_rows(lengths: Sequence[int], size: int, sort_by_length: bool) -> list[list[int]]:
    """Row indices of each chunk: batch order, or longest first (ties in batch order) when sorting."""
    check_chunk_size(size)
    rows = list(range(len(lengths)))
    if sort_by_length:
        rows.sort(key=lambda i: (-lengths[i], i))
    return [rows[s : s + size] for s in range(0, len(rows), size)]


def _chunked(chunks: list[Any], groups: list[list[int]]) -> dict[str, Any]:
    return {CHUNKS: chunks, ORDER: torch.tensor([i for g in groups for i in g], dtype=torch.long)}


def pad_in_chunks(features: Mapping[str, Sequence[Sequence[int]]], tokenizer: Any, size: int,
                  sort_by_length: bool = False, pad_to_multiple_of: int | None = None) -> dict[str, Any]:
    """Unpadded token lists (``tokenizer(..., padding=False)``) -> chunks, each padded to its own longest."""
    lengths = [len(ids) for ids in features["input_ids"]]
    groups = chunk_rows(lengths, size, sort_by_length)
    chunks = [tokenizer.pad({k: [v[i] for i in g] for k, v in features.items()}, padding=True,
                            pad_to_multiple_of=pad_to_multiple_of, return_tensors="pt") for g in groups]
    return _chunked(chunks, groups)


def split_padded(inputs: Mapping[str, Tensor], size: int, sort_by_length: bool = False,
                 padding_side: str = "right") -> dict[str, Any]:
    """A padded batch -> chunks, the pad columns that no row of a chunk needs cut away."""
    mask = inputs["attention_mask"]
    lengths = [int(n) for n in mask.sum(1).tolist()]
    groups = chunk_rows(lengths, size, sort_by_length)
    chunks = []
    for g in groups:
        idx = torch.tensor(g, dtype=torch.long, device=mask.device)
        longest = max(max(lengths[i] for i in g), 1)
        cols = slice(mask.shape[1] - longest, None) if padding_side == "left" else slice(0, longest)
        chunks.append({k: v.index_select(0, idx)[:, cols] for k, v in inputs.items()})
    return _chunked(chunks, groups)


def as_chunks(inputs: Mapping[str, Any], size: int, sort_by_length: bool = False,
              padding_side: str = "right") -> dict[str, Any]:
    """``inputs`` in chunked form (already chunked inputs are returned as they are)."""
    return inputs if is_chunked(inputs) else split_padded(inputs, size, sort_by_length, padding_side)


def restore_order(parts: Sequence[Tensor], order: Tensor) -> Tensor:
    """Concatenate chunk embeddings and put the rows back in batch order (differentiably)."""
    rows = torch.cat(list(parts))
    order = order.to(rows.device)
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(order.numel(), device=order.device)
    return rows.index_select(0, inverse)


def padding_fraction(batches: Sequence[Mapping[str, Any]]) -> float:
    """Share of pad tokens among all token positions of padded inputs and/or chunked forms (a measure)."""
    pads = total = 0
    for inputs in batches:
        for chunk in (inputs[CHUNKS] if is_chunked(inputs) else [inputs]):
            mask = chunk["attention_mask"]
            total += mask.numel()
            pads += int(mask.numel() - mask.sum())
    return pads / total if total else 0.0
