"""How token states become one embedding: the :class:`Pooling` modes and :func:`pool`.

The definitions are those of sentence-transformers' ``Pooling`` module (``mean``, ``cls``,
``lasttoken``), which is what makes a saved checkpoint give the same embeddings there
(``docs/design.md`` section 4).
"""

from __future__ import annotations

from enum import Enum

import torch
from torch import Tensor


class Pooling(str, Enum):
    """A pooling mode; the value is the name sentence-transformers and ``hf_hybrid_config.json`` use."""

    MEAN = "mean"
    CLS = "cls"
    LASTTOKEN = "lasttoken"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, text: str | Pooling) -> Pooling:
        """The mode named by ``text``, accepting common spellings (``avg``, ``first``, ``last-token``...)."""
        key = str(text).strip().lower()
        if key not in _ALIASES:
            choices = tuple(p.value for p in cls)
            raise ValueError(f"pooling={text!r} is not supported: use one of {choices} (or 'last-token')")
        return _ALIASES[key]


_ALIASES: dict[str, Pooling] = {
    "mean": Pooling.MEAN,
    "avg": Pooling.MEAN,
    "average": Pooling.MEAN,
    "cls": Pooling.CLS,
    "first": Pooling.CLS,
    "lasttoken": Pooling.LASTTOKEN,
    "last-token": Pooling.LASTTOKEN,
    "last_token": Pooling.LASTTOKEN,
    "last": Pooling.LASTTOKEN,
}


def pool(hidden: Tensor, attention_mask: Tensor, mode: Pooling | str) -> Tensor:
    """Pool token states ``[B, T, H]`` into ``[B, H]`` (float32), ignoring padded positions.

    ``cls`` takes the first attended token and ``lasttoken`` the last one, so left and right padding
    both work. ``mode`` is a :class:`Pooling` or its value.
    """
    mask = attention_mask.to(hidden.device)
    if mode == Pooling.MEAN:
        m = mask.unsqueeze(-1).to(hidden.dtype)
        summed = (hidden * m).sum(dim=1, dtype=torch.float32)
        count = m.sum(dim=1, dtype=torch.float32).clamp(min=1e-9)
        return summed / count
    if mode == Pooling.CLS:
        idx = mask.to(torch.int32).argmax(dim=1)
    elif mode == Pooling.LASTTOKEN:
        seq_len = mask.shape[1]
        values, rev = mask.to(torch.int32).flip(1).max(dim=1)
        idx = torch.where(values == 0, torch.full_like(rev, seq_len - 1), seq_len - 1 - rev)
    else:
        raise ValueError(f"unknown pooling mode {mode!r}; expected one of {tuple(p.value for p in Pooling)}")
    gathered = hidden.gather(1, idx.long().view(-1, 1, 1).expand(-1, 1, hidden.shape[-1])).squeeze(1)
    return gathered.float()
