"""On-disk embedding cache: re-evaluating a model with other metric settings costs no encoding.

Entries are keyed by the model's *identity* (:func:`model_fingerprint`: weights, tokenizer content,
architecture config), the text role (query or passage), the encoding
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

__all__ = ["EmbeddingCache", "default_cache_dir", "encoding_settings", "model_fingerprint", "tokenizer_fingerprint"]


def default_cache_dir() -> Path:
    """``$HF_HYBRID_CACHE/embeddings`` or ``~/.cache/hf_hybrid/embeddings``."""
    root = os.environ.get("HF_HYBRID_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "hf_hybrid")
    return Path(root) / "embeddings"


def _weights_digest(h: Any, model: Any) -> None:
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        try:
            h.update(t.numpy().tobytes())
        except TypeError:  # bfloat16 has no NumPy dtype: hash the raw 16-bit words
            import torch

            h.update(t.view(torch.int16).numpy().tobytes())


# Keys of a transformers config that name a place or a version, not a computation: a model moved to
# another folder (or re-saved by a newer transformers) keeps its cache entries.
_CONFIG_NOISE = ("_name_or_path", "name_or_path", "transformers_version", "architectures")


def _architecture_configs(model: Any) -> list[Any]:
    """The transformers configs of the model's towers (PEFT wrappers removed), as JSON-ready dicts."""
    towers = [getattr(model, attr, None) for attr in ("encoder", "passage_encoder")]
    towers = [t for t in towers if t is not None] or [model]
    out = []
    for tower in towers:
        get_base = getattr(tower, "get_base_model", None)
        config = getattr(get_base() if callable(get_base) else tower, "config", None)
        to_dict = getattr(config, "to_dict", None)
        if callable(to_dict):
            out.append({k: v for k, v in to_dict().items() if k not in _CONFIG_NOISE and not k.startswith("_")})
    return out


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """sha256 of what a tokenizer does to a text, not just its class and size.

    A fast tokenizer contributes its whole ``tokenizers`` definition (vocabulary, merges, normaliser,
    pre-tokeniser, post-processor, added tokens) minus the per-call truncation/padding state; a slow one its
    vocabulary and constructor settings. Both add the special tokens, padding/truncation sides and the
    model input names (e.g. whether ``token_type_ids`` are passed).
    """
    h = hashlib.sha256(f"{type(tokenizer).__module__}.{type(tokenizer).__qualname__}".encode())
    backend = getattr(tokenizer, "backend_tokenizer", None)
    to_str = getattr(backend, "to_str", None)
    if callable(to_str):
        definition = json.loads(to_str())
        definition.pop("truncation", None)  # set by the last call's truncation=/max_length=, not by the tokenizer
        definition.pop("padding", None)
        h.update(json.dumps(definition, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    else:
        vocab = tokenizer.get_vocab() if callable(getattr(tokenizer, "get_vocab", None)) else {}
        h.update(json.dumps(sorted(vocab.items()), ensure_ascii=False).encode("utf-8"))
        kwargs = {k: v for k, v in dict(getattr(tokenizer, "init_kwargs", {}) or {}).items()
                  if not (k.endswith("_file") or k in ("name_or_path", "auto_map") or k.startswith("_"))}
        h.update(json.dumps(kwargs, sort_keys=True, default=str).encode("utf-8"))
    extra = {"special_tokens": getattr(tokenizer, "special_tokens_map", None),
             "padding_side": getattr(tokenizer, "padding_side", None),
             "truncation_side": getattr(tokenizer, "truncation_side", None),
             "model_input_names": getattr(tokenizer, "model_input_names", None)}
    h.update(json.dumps(extra, sort_keys=True, default=str).encode("utf-8"))
    return h.hexdigest()


def model_fingerprint(model: Any) -> str:
    """Identity of what a model computes, for cache keys: sha256 over
    its weights (parameter names, dtypes, shapes and bytes), the content of its ``tokenizer``
    (:func:`tokenizer_fingerprint`, when it has one) and the transformers config of its towers (an edited
    ``config.json`` with the same weights, e.g. another activation, is another model; paths and versions
    are left out, so a moved folder keeps its entries). The retrieval settings (pooling, normalisation,
    prompts, lengths, LoRA) are keyed per role by :func:`encoding_settings`.

    Hashing ~0.5 GB of weights costs about a second, negligible next to encoding a pool.  Objects without
    ``state_dict`` (tests' fake encoders) may expose a string attribute ``fingerprint``.
    """
    explicit = getattr(model, "fingerprint", None)
    if isinstance(explicit, str) and explicit:
        return hashlib.sha256(explicit.encode("utf-8")).hexdigest()
    if not callable(getattr(model, "state_dict", None)):
        raise TypeError(f"cannot fingerprint {type(model).__name__} for the embedding cache: it has no state_dict() "
                        "and no 'fingerprint' string; pass cache_dir=None to encode without a cache.")
    h = hashlib.sha256()
    _weights_digest(h, model)
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is not None:
        h.update(b"|tokenizer|" + tokenizer_fingerprint(tokenizer).encode())
    configs = _architecture_configs(model)
    if configs:
        h.update(b"|configs|" + json.dumps(configs, sort_keys=True, default=str).encode("utf-8"))
    return h.hexdigest()


def encoding_settings(model: Any, role: str) -> tuple[str, str]:
    """(prompt, max_length) strings for the cache key: what changes a text's embedding besides the weights.

    The prompt part also carries the model's other non-weight settings (its whole ``get_config_dict()``:
    pooling, normalisation, both prompts and lengths, shared towers, LoRA settings such as ``lora_alpha``),
    so changing e.g. the pooling of the same checkpoint cannot hit stale entries. The tokenizer and the
    architecture are part of :func:`model_fingerprint`. ``role`` is ``"query"`` or ``"passage"``.
    """
    get_config = getattr(model, "get_config_dict", None)
    config = get_config() if callable(get_config) else {}
    prompt = config.get(f"{role}_prompt", getattr(model, f"{role}_prompt", ""))
    max_length = (config.get(f"{role}_max_length") or getattr(model, f"{role}_max_length", None)
                  or getattr(model, "max_seq_length", None))
    extra = json.dumps(config, sort_keys=True, default=str)
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
