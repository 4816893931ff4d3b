"""On-disk embedding cache: re-evaluating a model with other metric settings costs no encoding.

Entries are keyed by the model's *weights* (:func:`model_fingerprint`), the text role (query or passage), the encoding
settings that change an embedding besides the weights (:func:`encoding_settings`) and the text itself.
Why weights and not the model path: a checkpoint directory is rewritten in place by every training run and
a Hub id moves with new commits; a stale cache hit would silently report the old model's numbers.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hf_hybrid.checkpoint.atomic import atomic_write_bytes

logger = logging.getLogger(__name__)

__all__ = ["EmbeddingCache", "default_cache_dir", "encoding_settings", "model_fingerprint"]


def default_cache_dir() -> Path:
    """``$HF_HYBRID_CACHE/embeddings`` or ``~/.cache/hf_hybrid/embeddings``."""
    root = os.environ.get("HF_HYBRID_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "hf_hybrid")
    return Path(root) / "embeddings"


def model_fingerprint(model: Any) -> str:
    """Identity of a model's weights for cache keys: sha256 over parameter names, dtypes, shapes and bytes.

    Hashing ~0.5 GB of weights costs about a second, negligible next to encoding a pool.  Objects without
    ``state_dict`` (tests' fake encoders) may expose a string attribute ``fingerprint``.
    """
    explicit = getattr(model, "fingerprint", None)
    if isinstance(explicit, str) and explicit:
        return hashlib.sha256(explicit.encode("utf-8")).hexdigest()
    state_dict = getattr(model, "state_dict", None)
    if not callable(state_dict):
        raise TypeError(f"cannot fingerprint {type(model).__name__} for the embedding cache: it has no state_dict() "
                        "and no 'fingerprint' string; pass cache_dir=None to encode without a cache.")
    h = hashlib.sha256()
    for name, tensor in sorted(state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        try:
            h.update(t.numpy().tobytes())
        except TypeError:  # bfloat16 has no NumPy dtype: hash the raw 16-bit words
            import torch

            h.update(t.view(torch.int16).numpy().tobytes())
    return h.hexdigest()


def encoding_settings(model: Any, role: str) -> tuple[str, str]:
    """(prompt, max_length) strings for the cache key: what changes a text's embedding besides the weights.

    The prompt part also carries the model's other non-weight settings (its ``get_config_dict()``: pooling,
    normalisation, ...; and the tokenizer size), so changing e.g. the pooling of the same checkpoint cannot
    hit stale entries.  ``role`` is ``"query"`` or ``"passage"``.
    """
    get_config = getattr(model, "get_config_dict", None)
    config = get_config() if callable(get_config) else {}
    prompt = config.get(f"{role}_prompt", getattr(model, f"{role}_prompt", ""))
    max_length = (config.get(f"{role}_max_length") or getattr(model, f"{role}_max_length", None)
                  or getattr(model, "max_seq_length", None))
    extra = json.dumps(config, sort_keys=True, default=str)
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is not None:
        extra += f"|{type(tokenizer).__name__}:{len(tokenizer)}"
    return f"{prompt or ''}\x00{extra}", str(max_length or "")


class EmbeddingCache:
    """Embeddings on disk, keyed by ``sha256(model fingerprint, role, prompt, max_length, text)``.

    Layout: ``<cache_dir>/<fingerprint[:16]>/<role>/shard-<hash>.npz`` with arrays ``keys`` (uint8
    ``(n, 32)`` sha256 digests) and ``embeddings``.  Each :meth:`encode` call appends at most one shard with
    the texts that were missing; shards are written atomically, so a crash never leaves a truncated shard
    and concurrent runs at worst encode the same texts twice.
    """

    def __init__(self, cache_dir: str | os.PathLike, fingerprint: str):
        self.root = Path(cache_dir) / fingerprint[:16]
        self.fingerprint = fingerprint

    def key(self, role: str, prompt: str, max_length: str, text: str) -> bytes:
        h = hashlib.sha256()
        for part in (self.fingerprint, role, prompt, max_length, text):
            b = part.encode("utf-8")
            h.update(len(b).to_bytes(8, "little"))  # length-prefixed: no ambiguity between fields
            h.update(b)
        return h.digest()

    def _load(self, role: str) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        folder = self.root / role
        if not folder.is_dir():
            return found
        for shard in sorted(folder.glob("shard-*.npz")):
            try:
                with np.load(shard) as data:
                    keys, emb = data["keys"], data["embeddings"]
            except Exception as exc:  # unreadable shard: ignore it, the texts are re-encoded
                logger.warning("ignoring unreadable embedding cache shard %s (%s)", shard, exc)
                continue
            if keys.ndim != 2 or keys.shape[1] != 32 or len(keys) != len(emb):
                logger.warning("ignoring malformed embedding cache shard %s", shard)
                continue
            for k, e in zip(keys, emb):
                found[k.tobytes()] = e
        return found

    def encode(self, texts: Sequence[str], role: str, encode_fn: Callable[[list[str]], np.ndarray],
               prompt: str = "", max_length: str = "") -> np.ndarray:
        """Embeddings of ``texts`` (in order), encoding only those not cached (each distinct text once)."""
        keys = [self.key(role, prompt, max_length, t) for t in texts]
        cached = self._load(role)
        missing: dict[bytes, str] = {}
        for k, t in zip(keys, texts):
            if k not in cached and k not in missing:
                missing[k] = t
        if missing:
            new = np.asarray(encode_fn(list(missing.values())), dtype=np.float32)
            if new.shape[0] != len(missing):
                raise ValueError(f"encoder returned {new.shape[0]} embeddings for {len(missing)} texts.")
            # uint8 rows, not a bytes dtype: NumPy's "S32" strips trailing NUL bytes, which would corrupt
            # the ~1 in 256 digests that end in 0x00.
            new_keys = np.frombuffer(b"".join(missing), dtype=np.uint8).reshape(len(missing), 32)
            name = hashlib.sha256(b"".join(missing)).hexdigest()[:20]
            buf = io.BytesIO()
            np.savez(buf, keys=new_keys, embeddings=new)
            atomic_write_bytes(self.root / role / f"shard-{name}.npz", buf.getvalue())
            cached.update(zip(missing, new))
        return np.stack([cached[k] for k in keys]).astype(np.float32, copy=False)
