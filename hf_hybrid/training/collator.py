"""`PairCollator`: turn a batch of training examples into the query, passage and negative tensors.

Queries and passages are tokenised separately, each with its own prompt, max length and padding, because
padding a short query to the length of a long passage wastes most of the compute. Hard negatives of all
pairs are flattened into one extra candidate block that every query of the (global) batch is scored
against, as sentence-transformers' ``MultipleNegativesRankingLoss`` does (``docs/design.md`` section 5).
Group ids travel along as stable 64-bit integers (:func:`group_id_hash`), so the loss can gather them across
processes with the embeddings and treat every passage of a query's group as a positive (``x-multi``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..modeling import DualEncoder
from .chunking import check_chunk_size, pad_in_chunks


def group_id_hash(group_id: Any) -> int:
    """A signed 64-bit integer for a group id, the same on every process and in every run (BLAKE2b of the id's
    text; Python's ``hash`` is salted per process). Two ids collide with probability ~2**-64 per pair."""
    digest = hashlib.blake2b(str(group_id).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


@dataclass
class PairCollator:
    """Collate :class:`~hf_hybrid.sampling.PairDataset` items for :class:`~hf_hybrid.modeling.DualEncoder`.

    Args:
        model: the dual encoder whose tokenizer, prompts and max lengths apply.
        pad_to_multiple_of: pad each block to a multiple of this many tokens (tensor cores), or not at all.
        mini_batch_size: hand each block over in chunks of at most this many texts, each padded only to its
            own longest (the chunked form of :mod:`~hf_hybrid.training.chunking`), for the trainer's
            ``mini_batch_size`` (gradient caching / length-aware chunks). ``None``: one padded block.
        length_sorted_chunks: with ``mini_batch_size``, fill the chunks with texts sorted by token length.

    Returns (from ``__call__``): ``{"query": BatchEncoding, "passage": BatchEncoding, "query_langs": [...],
    "passage_langs": [...]}``, plus ``"negatives"`` when any item has hard negatives (each block in chunked
    form, ``{"chunks": [...], "order": LongTensor}``, with ``mini_batch_size``), plus ``"group_ids"`` (a
    LongTensor of :func:`group_id_hash` values) when every item has a ``group_id``.
    """

    model: DualEncoder
    pad_to_multiple_of: int | None = None
    mini_batch_size: int | None = None
    length_sorted_chunks: bool = False

    def __post_init__(self) -> None:
        if self.mini_batch_size is not None:
            check_chunk_size(self.mini_batch_size)
        elif self.length_sorted_chunks:
            raise ValueError("length_sorted_chunks=True needs mini_batch_size (the number of texts per chunk).")

    def _encode(self, texts: Sequence[str], role: str) -> dict[str, Any]:
        enc = self.model.tokenize(list(texts), role=role)
        if self.mini_batch_size is not None:
            return pad_in_chunks(enc, self.model.tokenizer, self.mini_batch_size, self.length_sorted_chunks,
                                 self.pad_to_multiple_of)
        return self.model.tokenizer.pad(enc, padding=True, pad_to_multiple_of=self.pad_to_multiple_of,
                                        return_tensors="pt")

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        batch: dict[str, Any] = {
            "query": self._encode([it["query"] for it in items], "query"),
            "passage": self._encode([it["positive"] for it in items], "passage"),
            "query_langs": [it.get("query_lang") for it in items],
            "passage_langs": [it.get("passage_lang") for it in items],
        }
        negatives = [n for it in items for n in (it.get("negatives") or [])]
        if negatives:
            batch["negatives"] = self._encode(negatives, "passage")
        if items and all(it.get("group_id") is not None for it in items):
            batch["group_ids"] = torch.tensor([group_id_hash(it["group_id"]) for it in items], dtype=torch.long)
        return batch
