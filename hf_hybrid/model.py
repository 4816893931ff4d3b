"""Dual encoder around any Hugging Face ``AutoModel`` text encoder.

Why a module of our own rather than ``SentenceTransformer`` for training: the hybrid sampler and the
gathered InfoNCE loss need direct control over the query and passage forward passes (two towers,
per-kind prompts and max lengths, hard negatives, LoRA on the towers), while the *saved* model must
still be a plain sentence-transformers / transformers checkpoint that anyone can load without this
package (design.md section 4). So training goes through :class:`DualEncoder`, and
:meth:`DualEncoder.save_pretrained` writes the sentence-transformers layout by hand:

``<dir>/``
    ``config.json``, ``model.safetensors``, tokenizer files  the query (or shared) tower: ``AutoModel`` loads it
    ``modules.json``, ``sentence_bert_config.json``, ``1_Pooling/``, ``2_Normalize/``,
    ``config_sentence_transformers.json``                      sentence-transformers (>= 6) pipeline + prompts
    ``hf_hybrid_config.json``                                 our settings, read by :meth:`DualEncoder.from_pretrained`
    ``passage_encoder/``                                      only with separate towers: the passage tower
    ``router_config.json``                                    only with separate towers: ST ``Router`` (query -> root, document -> passage_encoder)

With LoRA towers the weights files are PEFT adapters (``adapter_config.json``,
``adapter_model.safetensors``) instead of ``config.json`` + ``model.safetensors``; see :mod:`hf_hybrid.lora`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from transformers import AutoModel, AutoTokenizer, BatchEncoding, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

CONFIG_NAME = "hf_hybrid_config.json"
PASSAGE_SUBFOLDER = "passage_encoder"
ADAPTER_CONFIG_NAME = "adapter_config.json"
FORMAT_VERSION = 1

PoolingMode = Literal["mean", "cls", "lasttoken"]
POOLING_MODES: tuple[str, ...] = ("mean", "cls", "lasttoken")
_POOLING_ALIASES = {
    "mean": "mean",
    "avg": "mean",
    "average": "mean",
    "cls": "cls",
    "first": "cls",
    "lasttoken": "lasttoken",
    "last-token": "lasttoken",
    "last_token": "lasttoken",
    "last": "lasttoken",
}
Kind = Literal["query", "passage"]

DEFAULT_QUERY_MAX_LENGTH = 64
DEFAULT_PASSAGE_MAX_LENGTH = 256

# Models whose learned position embeddings start at ``padding_idx + 1`` (fairseq heritage): XLM-R has
# max_position_embeddings=514 but encodes at most 512 tokens.
_PADDING_OFFSET_MODEL_TYPES = {
    "roberta",
    "xlm-roberta",
    "xlm-roberta-xl",
    "camembert",
    "data2vec-text",
    "ibert",
    "longformer",
    "mpnet",
    "roberta-prelayernorm",
    "xmod",
}

# sentence-transformers (>= 6) module class paths, exactly as ST 6 writes them in modules.json.
_ST_TRANSFORMER = "sentence_transformers.base.modules.transformer.Transformer"
_ST_POOLING = "sentence_transformers.sentence_transformer.modules.pooling.Pooling"
_ST_NORMALIZE = "sentence_transformers.base.modules.normalize.Normalize"
_ST_ROUTER = "sentence_transformers.base.modules.router.Router"

_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "sentencepiece.bpe.model",
    "spiece.model",
    "tokenizer.model",
    "added_tokens.json",
    "chat_template.jinja",
)
# Entries of a model directory that a save owns: stale ones from an earlier save are removed when a save
# merges into an existing, non-empty directory (e.g. Trainer's output_dir, which also holds checkpoint-*).
_MANAGED_ENTRIES = {
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
    "adapter_config.json",
    "adapter_model.safetensors",
    "adapter_model.bin",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "router_config.json",
    CONFIG_NAME,
    "1_Pooling",
    "2_Normalize",
    PASSAGE_SUBFOLDER,
    *_TOKENIZER_FILES,
}
_MANAGED_PATTERNS = (re.compile(r"model-\d+-of-\d+\.safetensors"), re.compile(r"pytorch_model-\d+-of-\d+\.bin"))
# Written last when merging into an existing directory, removed first: while they are absent no loader
# (AutoModel, SentenceTransformer, DualEncoder, PEFT) takes the directory for a complete model.
_MARKER_ENTRIES = (
    "modules.json",
    "config_sentence_transformers.json",
    "config.json",
    ADAPTER_CONFIG_NAME,
    CONFIG_NAME,
)


class ModelLoadError(OSError):
    """A model could not be loaded; the message says why and what to do."""


# --------------------------------------------------------------------------------------------------
# settings
# --------------------------------------------------------------------------------------------------


@dataclass
class DualEncoderConfig:
    """The settings that turn an encoder into a retriever; saved as ``hf_hybrid_config.json``."""

    pooling: str = "mean"
    normalize: bool = True
    query_prompt: str = ""
    passage_prompt: str = ""
    query_max_length: int = DEFAULT_QUERY_MAX_LENGTH
    passage_max_length: int = DEFAULT_PASSAGE_MAX_LENGTH
    shared_towers: bool = True
    lora: dict[str, Any] | None = None  # set for adapter directories: {"query": {...}, "passage": {...}}
    format_version: int = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = CONFIG_NAME) -> DualEncoderConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            logger.warning("%s: ignoring unknown keys %s (written by a newer hf-hybrid?)", source, unknown)
        return cls(**{k: v for k, v in data.items() if k in known})


def normalize_pooling(pooling: str) -> str:
    """Canonical pooling name (``mean`` / ``cls`` / ``lasttoken``), accepting common spellings."""
    key = str(pooling).strip().lower()
    if key not in _POOLING_ALIASES:
        raise ValueError(f"pooling={pooling!r} is not supported: use one of {POOLING_MODES} (or 'last-token')")
    return _POOLING_ALIASES[key]


def position_limit(config: Any) -> int | None:
    """The longest input (in tokens) the encoder's position embeddings allow, or None when unbounded.

    For fairseq-style models (XLM-R, RoBERTa...) the first ``pad_token_id + 1`` positions are reserved,
    so ``max_position_embeddings=514`` means 512 tokens.
    """
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    mpe = getattr(text_config, "max_position_embeddings", None)
    if not isinstance(mpe, int) or mpe <= 0:
        return None
    offset = 0
    if getattr(text_config, "model_type", None) in _PADDING_OFFSET_MODEL_TYPES:
        offset = int(getattr(text_config, "pad_token_id", 1) or 0) + 1
    return mpe - offset


def _check_max_length(name: str, value: int, config: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name}={value!r} must be a positive integer (a number of tokens)")
    limit = position_limit(config)
    if limit is not None and value > limit:
        text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
        mpe = text_config.max_position_embeddings
        reserved = mpe - limit
        detail = (
            f" minus {reserved} positions reserved after the padding index in {text_config.model_type}"
            if reserved
            else ""
        )
        raise ValueError(
            f"{name}={value} is longer than the model can encode: max_position_embeddings={mpe}{detail} "
            f"allows at most {limit} tokens. Set {name} <= {limit}."
        )
    return value


def _default_max_length(default: int, config: Any) -> int:
    limit = position_limit(config)
    return default if limit is None else min(default, limit)


def ensure_pad_token(tokenizer: PreTrainedTokenizerBase, name: str = "tokenizer") -> PreTrainedTokenizerBase:
    """Give ``tokenizer`` a pad token if it lacks one (eos, then sep, then cls), else raise.

    Why: batching needs padding, and decoder-style tokenizers (e5-mistral, Qwen embedders...) often ship
    without a pad token. The pad value never reaches the pooled embedding (it is masked), so borrowing
    an existing special token is safe; inventing a new one would need resizing the embeddings.
    """
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


# --------------------------------------------------------------------------------------------------
# pooling
# --------------------------------------------------------------------------------------------------


def pool(hidden: Tensor, attention_mask: Tensor, mode: str) -> Tensor:
    """Pool token states ``[B, T, H]`` into ``[B, H]`` (float32), ignoring padded positions.

    ``cls`` takes the first attended token and ``lasttoken`` the last one, so left and right padding
    both work. Same definitions as sentence-transformers' ``Pooling`` module, which is what makes the
    saved checkpoint give identical embeddings there.
    """
    mask = attention_mask.to(hidden.device)
    if mode == "mean":
        m = mask.unsqueeze(-1).to(hidden.dtype)
        summed = (hidden * m).sum(dim=1, dtype=torch.float32)
        count = m.sum(dim=1, dtype=torch.float32).clamp(min=1e-9)
        return summed / count
    if mode == "cls":
        idx = mask.to(torch.int32).argmax(dim=1)
    elif mode == "lasttoken":
        seq_len = mask.shape[1]
        values, rev = mask.to(torch.int32).flip(1).max(dim=1)
        idx = torch.where(values == 0, torch.full_like(rev, seq_len - 1), seq_len - 1 - rev)
    else:
        raise ValueError(f"unknown pooling mode {mode!r}; expected one of {POOLING_MODES}")
    gathered = hidden.gather(1, idx.long().view(-1, 1, 1).expand(-1, 1, hidden.shape[-1])).squeeze(1)
    return gathered.float()


class DualEncoderOutput(NamedTuple):
    """Embeddings from :meth:`DualEncoder.forward` (``[N, H]`` each, ``None`` when not requested).

    A named tuple, so both ``q, p, n = model(...)`` and ``out.query_embeddings`` work.
    """

    query_embeddings: Tensor | None = None
    passage_embeddings: Tensor | None = None
    negative_embeddings: Tensor | None = None


# --------------------------------------------------------------------------------------------------
# loading helpers
# --------------------------------------------------------------------------------------------------

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")


def _offline_error(name: str, err: BaseException) -> ModelLoadError:
    from huggingface_hub.errors import RepositoryNotFoundError

    if isinstance(err, RepositoryNotFoundError):
        return ModelLoadError(
            f"could not load {name!r}: not a local directory and no such model on the Hub (or it is private: "
            f"log in with `hf auth login`). Pass a local path or an existing Hub model id."
        )
    return ModelLoadError(
        f"could not load {name!r}: not a local directory and the Hub is unreachable (HF_HUB_OFFLINE=1 or no "
        f"network). Pass a local path, or run with network once to cache it. ({type(err).__name__}: {err})"
    )


def resolve_model_dir(name_or_path: str | os.PathLike, *, revision: str | None = None, token: str | None = None) -> Path:
    """A local directory for ``name_or_path``: the path itself, or a (cached) Hub snapshot.

    Hub repos are fetched with ``snapshot_download`` restricted to what an encoder needs (configs,
    tokenizer, safetensors), so ONNX/OpenVINO exports in the same repo are not downloaded. Offline, the
    cache is used; when it misses, the error says so plainly instead of a transformers stack trace.
    """
    path = Path(os.fspath(name_or_path)).expanduser()
    if path.is_dir():
        return path
    name = os.fspath(name_or_path)
    if path.exists():
        raise ModelLoadError(f"could not load {name!r}: it is a file, expected a model directory")
    if name.startswith((".", "/", "~")) or "\\" in name or not _REPO_ID.match(name) or name.count("/") > 1:
        raise ModelLoadError(f"could not load {name!r}: no such directory (and not a valid Hub model id)")
    from huggingface_hub import snapshot_download

    patterns = ["*.json", "*.txt", "*.model", "*.md", "*.jinja", "*.py", "*.safetensors"]
    ignore = ["onnx/*", "openvino/*", "*/onnx/*", "*/openvino/*"]
    try:
        local = Path(snapshot_download(name, revision=revision, token=token, allow_patterns=patterns, ignore_patterns=ignore))
        if not any(local.rglob("*.safetensors")) and not (local / ADAPTER_CONFIG_NAME).exists():
            # Old repos ship only pytorch_model.bin.
            local = Path(
                snapshot_download(name, revision=revision, token=token, allow_patterns=[*patterns, "*.bin"], ignore_patterns=ignore)
            )
    except OSError as err:
        raise _offline_error(name, err) from err
    return local


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ModelLoadError(f"{path} is not valid JSON ({err}); the checkpoint is damaged") from err


def _load_tower(path: Path, *, subfolder: str = "", dtype: Any = None, trust_remote_code: bool = False) -> nn.Module:
    """Load one tower: a plain HF encoder, or base + PEFT adapter when the folder is an adapter."""
    folder = path / subfolder if subfolder else path
    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if dtype is not None:
        kwargs["dtype"] = dtype
    if (folder / ADAPTER_CONFIG_NAME).exists() and not (folder / "config.json").exists():
        from peft import PeftModel

        base_ref = _adapter_base(folder)
        base_dir = resolve_model_dir(base_ref["path"])
        base = _load_tower(base_dir, subfolder=base_ref.get("subfolder", ""), dtype=dtype, trust_remote_code=trust_remote_code)
        return PeftModel.from_pretrained(base, str(folder), is_trainable=False)
    try:
        model = AutoModel.from_pretrained(str(folder), **kwargs)
    except OSError as err:
        raise ModelLoadError(f"could not load the encoder in {folder}: {err}") from err
    # An absolute name makes PEFT adapters saved from this model point at a base that resolves from
    # any working directory.
    model.name_or_path = str(folder.resolve())
    model.config._name_or_path = str(folder.resolve())
    return model


def _adapter_base(folder: Path) -> dict[str, str]:
    """Where the base model of an adapter folder lives: hf-hybrid's record, else PEFT's."""
    ours = folder / CONFIG_NAME
    if not ours.exists() and (folder.parent / CONFIG_NAME).exists() and folder.name == PASSAGE_SUBFOLDER:
        ours = folder.parent / CONFIG_NAME
    if ours.exists():
        lora = (_read_json(ours).get("lora") or {}).get("passage" if folder.name == PASSAGE_SUBFOLDER else "query")
        if lora and lora.get("base_model_name_or_path"):
            return {"path": lora["base_model_name_or_path"], "subfolder": lora.get("base_subfolder", "")}
    cfg = _read_json(folder / ADAPTER_CONFIG_NAME)
    base = cfg.get("base_model_name_or_path")
    if not base:
        raise ModelLoadError(f"{folder / ADAPTER_CONFIG_NAME} has no base_model_name_or_path: cannot find the base model")
    return {"path": base, "subfolder": ""}


def _settings_from_st(root: Path) -> dict[str, Any]:
    """Pooling / normalisation / prompts / lengths of a sentence-transformers directory."""
    out: dict[str, Any] = {}
    modules = _read_json(root / "modules.json")
    types = [m.get("type", "") for m in modules]
    out["normalize"] = any(t.endswith("Normalize") for t in types)
    for m in modules:
        t = m.get("type", "")
        if t.endswith("Pooling"):
            cfg = _read_json(root / m["path"] / "config.json")
            mode = cfg.get("pooling_mode")
            if mode is None:  # ST < 5 layout: one boolean per mode
                legacy = {"pooling_mode_cls_token": "cls", "pooling_mode_mean_tokens": "mean", "pooling_mode_lasttoken": "lasttoken"}
                on = [v for k, v in legacy.items() if cfg.get(k)]
                mode = on[0] if len(on) == 1 else None
            if isinstance(mode, list):
                mode = mode[0] if len(mode) == 1 else None
            if mode not in POOLING_MODES:
                raise ModelLoadError(
                    f"{root / m['path'] / 'config.json'}: pooling {cfg} is not one of {POOLING_MODES}; "
                    "pass pooling=... to DualEncoder.from_pretrained to choose one"
                )
            out["pooling"] = mode
        elif t.endswith("Dense") or t.endswith("Router") or t.endswith("LayerNorm"):
            warnings.warn(
                f"{root}: sentence-transformers module {t!r} (path {m.get('path')!r}) has no DualEncoder "
                "equivalent and is dropped: embeddings will differ from SentenceTransformer on this directory",
                stacklevel=3,
            )
    st_cfg_path = root / "config_sentence_transformers.json"
    if st_cfg_path.exists():
        prompts = _read_json(st_cfg_path).get("prompts") or {}
        if prompts.get("query"):
            out["query_prompt"] = prompts["query"]
        for key in ("document", "passage", "corpus"):
            if prompts.get(key):
                out["passage_prompt"] = prompts[key]
                break
    for name in ("sentence_bert_config.json", "sentence_xlm-roberta_config.json", "sentence_roberta_config.json"):
        if (root / name).exists():
            sb = _read_json(root / name)
            if sb.get("max_seq_length"):
                out["query_max_length"] = out["passage_max_length"] = int(sb["max_seq_length"])
            if sb.get("query_length"):
                out["query_max_length"] = int(sb["query_length"])
            if sb.get("document_length"):
                out["passage_max_length"] = int(sb["document_length"])
            break
    return out


# --------------------------------------------------------------------------------------------------
# atomic directory writes
# --------------------------------------------------------------------------------------------------


def _is_managed(name: str) -> bool:
    return name in _MANAGED_ENTRIES or any(p.fullmatch(name) for p in _MANAGED_PATTERNS)


def atomic_write_dir(target: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Run ``write(tmp)`` on a fresh sibling directory, then publish it at ``target``.

    Why by hand: neither transformers nor sentence-transformers saves atomically, and a killed job must
    not leave a directory that loaders accept but that holds half the weights.

    * ``target`` missing or empty: one ``rename(2)``, atomic.
    * ``target`` non-empty (e.g. Trainer's ``output_dir`` that also holds ``checkpoint-*``): entries we
      do not own are kept; the marker files that make loaders accept the directory (``config.json``,
      ``modules.json``, ``adapter_config.json``, ``hf_hybrid_config.json``) are removed first and put
      back last, so at every instant the directory is either complete or visibly incomplete.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        write(tmp)
        if not target.exists() or (target.is_dir() and not any(target.iterdir())):
            os.replace(tmp, target)  # rename(2) atomically replaces an empty directory
            return target
        if not target.is_dir():
            raise NotADirectoryError(f"cannot save a model to {target}: it exists and is not a directory")
        trash = tmp / f".trash-{uuid.uuid4().hex[:8]}"
        trash.mkdir()
        new = sorted(p.name for p in tmp.iterdir() if p != trash)
        for name in _MARKER_ENTRIES:
            if (target / name).exists():
                os.replace(target / name, trash / name)
        for entry in list(target.iterdir()):
            if _is_managed(entry.name) and entry.name not in new:
                os.replace(entry, trash / entry.name)
        ordered = [n for n in new if n not in _MARKER_ENTRIES] + [n for n in _MARKER_ENTRIES if n in new]
        for name in ordered:
            dst = target / name
            if dst.is_dir() and not dst.is_symlink():
                os.replace(dst, trash / f"{name}.{uuid.uuid4().hex[:6]}")
            os.replace(tmp / name, dst)
        return target
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------------------------------
# the model
# --------------------------------------------------------------------------------------------------


def _unwrap(tower: nn.Module) -> nn.Module:
    """The transformers model inside a tower (PEFT wrappers removed)."""
    get_base = getattr(tower, "get_base_model", None)
    return get_base() if callable(get_base) else tower


def _is_peft(tower: nn.Module) -> bool:
    try:
        from peft import PeftModel
    except ImportError:  # pragma: no cover - peft is a dependency
        return False
    return isinstance(tower, PeftModel)


class DualEncoder(nn.Module):
    """Query/passage encoder: shared weights by default, or two towers.

    Args:
        encoder: any ``AutoModel`` text encoder (XLM-R, BERT/LaBSE, e5...), or a PEFT model around one.
            It encodes queries, and passages too unless ``passage_encoder`` is given.
        tokenizer: the encoder's tokenizer (also used by the passage tower, which must share the vocabulary).
        passage_encoder: optional separate passage tower (same hidden size).
        pooling: ``"mean"``, ``"cls"`` or ``"lasttoken"`` (``"last-token"`` accepted).
        normalize: L2-normalise embeddings (scores are then cosine similarities).
        query_prompt / passage_prompt: text prepended before tokenisation, e.g. e5's ``"query: "`` / ``"passage: "``.
        query_max_length / passage_max_length: truncation lengths in tokens. ``None``: 64 / 256, capped at what
            the model's position embeddings allow. An explicit value beyond that limit is an error.
    """

    supports_gradient_checkpointing = True
    main_input_name = "query"  # Trainer counts input tokens from this key when asked to
    _keys_to_ignore_on_save = None

    def __init__(
        self,
        encoder: nn.Module,
        tokenizer: PreTrainedTokenizerBase,
        *,
        passage_encoder: nn.Module | None = None,
        pooling: str = "mean",
        normalize: bool = True,
        query_prompt: str = "",
        passage_prompt: str = "",
        query_max_length: int | None = None,
        passage_max_length: int | None = None,
    ) -> None:
        super().__init__()
        if not hasattr(encoder, "config"):
            raise TypeError(f"encoder must be a transformers model with a .config, got {type(encoder).__name__}")
        self.encoder = encoder
        self.passage_encoder = passage_encoder
        self.tokenizer = ensure_pad_token(tokenizer)
        for name, value in (("query_prompt", query_prompt), ("passage_prompt", passage_prompt)):
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a string, got {type(value).__name__}")
        if passage_encoder is not None:
            hq = getattr(_unwrap(encoder).config, "hidden_size", None)
            hp = getattr(_unwrap(passage_encoder).config, "hidden_size", None)
            if hq != hp:
                raise ValueError(f"query tower hidden_size={hq} differs from passage tower hidden_size={hp}")
        cfg = _unwrap(encoder).config
        pcfg = _unwrap(passage_encoder).config if passage_encoder is not None else cfg
        qlen = _default_max_length(DEFAULT_QUERY_MAX_LENGTH, cfg) if query_max_length is None else query_max_length
        plen = _default_max_length(DEFAULT_PASSAGE_MAX_LENGTH, pcfg) if passage_max_length is None else passage_max_length
        self.settings = DualEncoderConfig(
            pooling=normalize_pooling(pooling),
            normalize=bool(normalize),
            query_prompt=query_prompt,
            passage_prompt=passage_prompt,
            query_max_length=_check_max_length("query_max_length", qlen, cfg),
            passage_max_length=_check_max_length("passage_max_length", plen, pcfg),
            shared_towers=passage_encoder is None,
        )

    # -- properties -----------------------------------------------------------------------------

    @property
    def config(self):
        """The (query) encoder's transformers config: what HF Trainer and accelerate look for."""
        return _unwrap(self.encoder).config

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    @property
    def shared_towers(self) -> bool:
        return self.passage_encoder is None

    @property
    def embedding_dim(self) -> int:
        return int(self.config.hidden_size)

    def tower(self, kind: Kind) -> nn.Module:
        """The module that encodes ``kind`` texts."""
        _check_kind(kind)
        return self.passage_encoder if (kind == "passage" and self.passage_encoder is not None) else self.encoder

    def prompt(self, kind: Kind) -> str:
        _check_kind(kind)
        return self.settings.query_prompt if kind == "query" else self.settings.passage_prompt

    def max_length(self, kind: Kind) -> int:
        _check_kind(kind)
        return self.settings.query_max_length if kind == "query" else self.settings.passage_max_length

    # -- tokenisation & forward -----------------------------------------------------------------

    def tokenize(self, texts: str | Sequence[str], kind: Kind = "query") -> BatchEncoding:
        """Prepend the ``kind`` prompt and truncate to its max length; no padding (the collator pads)."""
        if isinstance(texts, str):
            texts = [texts]
        prompt = self.prompt(kind)
        texts = [prompt + t for t in _check_texts(texts)]
        return self.tokenizer(texts, truncation=True, max_length=self.max_length(kind), padding=False)

    def embed(self, inputs: Mapping[str, Tensor], kind: Kind = "query") -> Tensor:
        """Pooled (and normalised) embeddings ``[B, H]`` in float32 for padded, tokenised inputs."""
        tower = self.tower(kind)
        model_inputs = {k: inputs[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in inputs}
        if "attention_mask" not in model_inputs:
            raise KeyError("embed() needs an attention_mask (use tokenizer.pad(..., return_tensors='pt'))")
        out = tower(**model_inputs, return_dict=True)
        hidden = out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]
        emb = pool(hidden, model_inputs["attention_mask"], self.settings.pooling)
        return F.normalize(emb, p=2, dim=-1) if self.settings.normalize else emb

    def forward(
        self,
        query: Mapping[str, Tensor] | None = None,
        passage: Mapping[str, Tensor] | None = None,
        negatives: Mapping[str, Tensor] | None = None,
        **unused: Any,
    ) -> DualEncoderOutput:
        """Embed the tokenised, padded ``query`` / ``passage`` / ``negatives`` batches (any may be None).

        ``negatives`` holds hard-negative passages flattened to ``[B*K, T]``; they go through the
        passage tower.
        """
        return DualEncoderOutput(
            query_embeddings=self.embed(query, "query") if query is not None else None,
            passage_embeddings=self.embed(passage, "passage") if passage is not None else None,
            negative_embeddings=self.embed(negatives, "passage") if negatives is not None else None,
        )

    # -- inference ------------------------------------------------------------------------------

    def encode(
        self,
        texts: str | Sequence[str],
        kind: Kind = "query",
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        convert_to: Literal["numpy", "torch"] = "numpy",
        device: str | torch.device | None = None,
    ) -> np.ndarray | Tensor:
        """Embed texts for inference: sorted by length (less padding), batched, in eval mode.

        Returns ``[N, H]`` float32 (numpy, or a torch tensor on the model's device); a single string
        gives ``[H]``. ``show_progress_bar=None`` shows a tqdm bar when there are more than 4 batches.
        """
        from tqdm.auto import tqdm

        if convert_to not in ("numpy", "torch"):
            raise ValueError(f"convert_to={convert_to!r}: use 'numpy' or 'torch'")
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size={batch_size!r} must be a positive integer")
        single = isinstance(texts, str)
        items = _check_texts([texts] if single else list(texts))
        if device is not None:
            self.to(device)
        dev = self.device
        # Tokenise everything in one call (the fast tokenizer batches it in Rust) and sort by token count,
        # not characters: batches then hold texts of equal token length and padding is minimal.
        features = self.tokenize(items, kind) if items else {"input_ids": []}
        lengths = [len(ids) for ids in features["input_ids"]]
        order = sorted(range(len(items)), key=lambda i: -lengths[i])
        starts = range(0, len(items), batch_size)
        if show_progress_bar is None:
            show_progress_bar = len(starts) > 4
        chunks: list[Tensor] = []
        was_training = self.training
        self.eval()
        try:
            with torch.inference_mode():
                for s in tqdm(starts, desc="Encoding queries" if kind == "query" else "Encoding passages", disable=not show_progress_bar):
                    idx = order[s : s + batch_size]
                    enc = self.tokenizer.pad({k: [v[i] for i in idx] for k, v in features.items()},
                                             return_tensors="pt")
                    enc = {k: v.to(dev) for k, v in enc.items()}
                    chunks.append(self.embed(enc, kind))
        finally:
            self.train(was_training)
        hidden = self.embedding_dim
        emb = torch.cat(chunks) if chunks else torch.empty(0, hidden, device=dev)
        inverse = torch.empty(len(order), dtype=torch.long)
        inverse[torch.tensor(order, dtype=torch.long)] = torch.arange(len(order))
        emb = emb[inverse.to(emb.device)]
        if single:
            emb = emb[0]
        if convert_to == "numpy":
            return emb.float().cpu().numpy()
        return emb

    def encode_queries(self, texts: str | Sequence[str], **kwargs: Any) -> np.ndarray | Tensor:
        """``encode(texts, kind="query", ...)``: applies the query prompt and max length."""
        return self.encode(texts, kind="query", **kwargs)

    def encode_passages(self, texts: str | Sequence[str], **kwargs: Any) -> np.ndarray | Tensor:
        """``encode(texts, kind="passage", ...)``: applies the passage prompt and max length."""
        return self.encode(texts, kind="passage", **kwargs)

    # -- activation (gradient) checkpointing ------------------------------------------------------

    def activation_checkpointing_enable(
        self, activation_checkpointing_kwargs: dict | None = None, every_n_layers: int = 1, offload: bool = False
    ) -> None:
        """Enable activation checkpointing on every tower (the name HF Trainer 5.x calls)."""
        kwargs = dict(activation_checkpointing_kwargs or {"use_reentrant": False})
        for tower in self._towers():
            base = _unwrap(tower)
            if hasattr(base, "activation_checkpointing_enable"):
                extra = {"every_n_layers": every_n_layers, "offload": offload} if (every_n_layers != 1 or offload) else {}
                base.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs, **extra)
            else:  # transformers 5.0-5.x before the rename
                base.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
            # transformers also makes the embedding outputs require grad, so that checkpointed layers
            # still back-propagate into LoRA adapters when the embeddings are frozen.

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs: dict | None = None, **kwargs: Any) -> None:
        """Alias of :meth:`activation_checkpointing_enable` (transformers < 5.x spelling)."""
        self.activation_checkpointing_enable(gradient_checkpointing_kwargs, **kwargs)

    def activation_checkpointing_disable(self) -> None:
        for tower in self._towers():
            base = _unwrap(tower)
            if hasattr(base, "activation_checkpointing_disable"):
                base.activation_checkpointing_disable()
            else:
                base.gradient_checkpointing_disable()

    gradient_checkpointing_disable = activation_checkpointing_disable

    @property
    def is_activation_checkpointing(self) -> bool:
        return any(getattr(m, "gradient_checkpointing", False) for m in self.modules())

    is_gradient_checkpointing = is_activation_checkpointing

    def _towers(self) -> list[nn.Module]:
        return [self.encoder] + ([self.passage_encoder] if self.passage_encoder is not None else [])

    # -- saving ---------------------------------------------------------------------------------

    def save_pretrained(
        self,
        save_directory: str | os.PathLike,
        *,
        state_dict: Mapping[str, Tensor] | None = None,
        safe_serialization: bool = True,
        is_main_process: bool = True,
        model_card: str | None = None,
        extra_files: Mapping[str, str | bytes] | None = None,
        **unused: Any,
    ) -> Path:
        """Write the checkpoint layout of design.md section 4, atomically (see :func:`atomic_write_dir`).

        ``state_dict`` (keys of ``self.state_dict()``) is what HF Trainer passes when it gathered the
        weights itself (DeepSpeed/FSDP); by default the live weights are saved. ``model_card`` becomes
        ``README.md`` and ``extra_files`` (relative name -> content, e.g. the training config) are
        written inside the same atomic publish. Non-main processes return without writing.
        """
        if not safe_serialization:
            raise ValueError("safe_serialization=False is not supported: transformers 5 writes safetensors only")
        target = Path(save_directory)
        if not is_main_process:
            return target
        if unused:
            logger.debug("save_pretrained: ignoring %s", sorted(unused))

        def write(tmp: Path) -> None:
            self._write_towers(tmp, state_dict)
            self._write_configs(tmp)
            if model_card is not None:
                (tmp / "README.md").write_text(model_card, encoding="utf-8")
            for rel, content in (extra_files or {}).items():
                dest = tmp / rel
                if Path(rel).is_absolute() or ".." in Path(rel).parts:
                    raise ValueError(f"extra_files key {rel!r} must be a relative path inside the model directory")
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))

        return atomic_write_dir(target, write)

    def _write_towers(self, root: Path, state_dict: Mapping[str, Tensor] | None) -> None:
        for prefix, tower, folder in (("encoder.", self.encoder, root), ("passage_encoder.", self.passage_encoder, root / PASSAGE_SUBFOLDER)):
            if tower is None:
                continue
            sub = None
            if state_dict is not None:
                sub = {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
            folder.mkdir(parents=True, exist_ok=True)
            tower.save_pretrained(str(folder), state_dict=sub)
            self.tokenizer.save_pretrained(str(folder))
            if _is_peft(tower):
                self._fix_adapter_base(tower, folder)

    def _lora_record(self) -> dict[str, Any] | None:
        record: dict[str, Any] = {}
        for kind, tower in (("query", self.encoder), ("passage", self.passage_encoder)):
            if tower is not None and _is_peft(tower):
                cfg = tower.peft_config[tower.active_adapter]
                base = getattr(tower, "_hf_hybrid_base", None) or {"base_model_name_or_path": cfg.base_model_name_or_path}
                record[kind] = {
                    **base,
                    "r": cfg.r,
                    "lora_alpha": cfg.lora_alpha,
                    "target_modules": sorted(cfg.target_modules) if isinstance(cfg.target_modules, (set, list)) else cfg.target_modules,
                }
        return record or None

    @staticmethod
    def _fix_adapter_base(tower: nn.Module, folder: Path) -> None:
        base = getattr(tower, "_hf_hybrid_base", None)
        if not base or not base.get("base_subfolder"):
            return
        # PEFT records one string; for a base inside a subfolder of a local directory we can spell it.
        base_path = Path(base["base_model_name_or_path"])
        if base_path.is_dir():
            cfg_path = folder / ADAPTER_CONFIG_NAME
            cfg = _read_json(cfg_path)
            cfg["base_model_name_or_path"] = str(base_path / base["base_subfolder"])
            cfg_path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    def _write_configs(self, root: Path) -> None:
        import sentence_transformers
        import transformers

        s = self.settings
        settings = DualEncoderConfig(**{**s.to_dict(), "shared_towers": self.shared_towers, "lora": self._lora_record()})
        _write_json(root / CONFIG_NAME, settings.to_dict())

        sb = {
            "transformer_task": "feature-extraction",
            "modality_config": {"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
            "module_output_name": "token_embeddings",
            "query_length": s.query_max_length,
            "document_length": s.passage_max_length,
        }
        _write_json(root / "sentence_bert_config.json", sb)
        first = {"idx": 0, "name": "0", "path": "", "type": _ST_TRANSFORMER}
        if not self.shared_towers:
            _write_json(root / PASSAGE_SUBFOLDER / "sentence_bert_config.json", sb)
            # The Router loads its routes from subfolders of the model directory: "." is the root itself
            # (the query tower, which is also what AutoModel loads), "passage_encoder" the passage tower.
            _write_json(
                root / "router_config.json",
                {
                    "types": {".": _ST_TRANSFORMER, PASSAGE_SUBFOLDER: _ST_TRANSFORMER},
                    "structure": {"query": ["."], "document": [PASSAGE_SUBFOLDER]},
                    "parameters": {"default_route": "query", "allow_empty_key": True},
                },
            )
            first = {"idx": 0, "name": "0", "path": "", "type": _ST_ROUTER}
        modules = [first, {"idx": 1, "name": "1", "path": "1_Pooling", "type": _ST_POOLING}]
        _write_json(
            root / "1_Pooling" / "config.json",
            {"embedding_dimension": self.embedding_dim, "pooling_mode": s.pooling, "include_prompt": True},
        )
        if s.normalize:
            modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": _ST_NORMALIZE})
            _write_json(
                root / "2_Normalize" / "config.json",
                {"module_input_name": "sentence_embedding", "module_output_name": "sentence_embedding"},
            )
        _write_json(root / "modules.json", modules)
        _write_json(
            root / "config_sentence_transformers.json",
            {
                "__version__": {
                    "sentence_transformers": sentence_transformers.__version__,
                    "transformers": transformers.__version__,
                    "pytorch": torch.__version__,
                },
                "model_type": "SentenceTransformer",
                # "document" is what encode_document() picks first; "passage" documents the e5 naming.
                "prompts": {"query": s.query_prompt, "document": s.passage_prompt, "passage": s.passage_prompt},
                "default_prompt_name": None,
                "similarity_fn_name": "cosine" if s.normalize else "dot",
            },
        )

    def load_weights(self, path: str | os.PathLike) -> DualEncoder:
        """Load the tower weights saved in ``path`` into this model in place (for resuming training).

        In place so that an optimizer built on this model keeps pointing at the right tensors.
        """
        from safetensors.torch import load_file

        root = Path(path)
        for tower, folder in ((self.encoder, root), (self.passage_encoder, root / PASSAGE_SUBFOLDER)):
            if tower is None:
                continue
            if _is_peft(tower):
                from peft import set_peft_model_state_dict

                weights = folder / "adapter_model.safetensors"
                if not weights.exists():
                    raise ModelLoadError(f"{weights} is missing: {root} is not an adapter checkpoint of this model")
                set_peft_model_state_dict(tower, load_file(str(weights)))
                continue
            files = sorted(folder.glob("model*.safetensors"))
            if not files:
                raise ModelLoadError(f"no model*.safetensors in {folder}: not a full checkpoint of this model")
            sd: dict[str, Tensor] = {}
            for f in files:
                sd.update(load_file(str(f)))
            missing, unexpected = tower.load_state_dict(sd, strict=False)
            if unexpected or [k for k in missing if "pooler" not in k]:
                raise ModelLoadError(f"{folder}: weights do not match the model (missing {missing[:5]}, unexpected {unexpected[:5]})")
        return self

    load_weights_ = load_weights  # in-place naming alias

    # -- loading --------------------------------------------------------------------------------

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike,
        *,
        pooling: str | None = None,
        normalize: bool | None = None,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        query_max_length: int | None = None,
        passage_max_length: int | None = None,
        separate_towers: bool | None = None,
        torch_dtype: Any = None,
        dtype: Any = None,
        trust_remote_code: bool = False,
        lora: bool | Mapping[str, Any] | None = None,
        revision: str | None = None,
        token: str | None = None,
    ) -> DualEncoder:
        """Load a DualEncoder from a local directory or Hub id.

        Accepts our layout (settings from ``hf_hybrid_config.json``), a sentence-transformers directory
        (pooling, normalisation, prompts and lengths read from its modules), a plain HF encoder (mean
        pooling, normalised, no prompts) or a PEFT adapter directory (base from ``adapter_config.json``).
        Keyword arguments that are not None override what the directory says.

        ``separate_towers=True`` on a shared checkpoint starts a passage tower as a copy of the encoder.
        ``lora``: ``True`` makes loaded adapters trainable (or adds default LoRA to a full model); a dict
        is passed to :func:`hf_hybrid.lora.apply_lora`. ``dtype``/``torch_dtype`` (alias) go to
        ``AutoModel.from_pretrained``.
        """
        dtype = dtype if dtype is not None else torch_dtype
        root = resolve_model_dir(name_or_path, revision=revision, token=token)
        settings: dict[str, Any] = {}
        shared = True
        is_adapter = (root / ADAPTER_CONFIG_NAME).exists() and not (root / "config.json").exists()
        if (root / CONFIG_NAME).exists():
            saved = DualEncoderConfig.from_dict(_read_json(root / CONFIG_NAME), str(root / CONFIG_NAME))
            settings = {
                "pooling": saved.pooling,
                "normalize": saved.normalize,
                "query_prompt": saved.query_prompt,
                "passage_prompt": saved.passage_prompt,
                "query_max_length": saved.query_max_length,
                "passage_max_length": saved.passage_max_length,
            }
            shared = saved.shared_towers
        elif (root / "modules.json").exists():
            settings = _settings_from_st(root)
        elif is_adapter:
            base_settings = _base_settings(_adapter_base(root))
            settings = base_settings
        overrides = {
            "pooling": pooling,
            "normalize": normalize,
            "query_prompt": query_prompt,
            "passage_prompt": passage_prompt,
            "query_max_length": query_max_length,
            "passage_max_length": passage_max_length,
        }
        settings.update({k: v for k, v in overrides.items() if v is not None})

        encoder = _load_tower(root, dtype=dtype, trust_remote_code=trust_remote_code)
        passage_encoder = None
        if not shared:
            if not (root / PASSAGE_SUBFOLDER).is_dir():
                raise ModelLoadError(f"{root / CONFIG_NAME} says shared_towers=false but {root / PASSAGE_SUBFOLDER} is missing")
            passage_encoder = _load_tower(root, subfolder=PASSAGE_SUBFOLDER, dtype=dtype, trust_remote_code=trust_remote_code)
        elif separate_towers:
            import copy

            passage_encoder = copy.deepcopy(encoder)
        if separate_towers is False and not shared:
            raise ValueError(f"{root} has separate towers; separate_towers=False cannot merge them")
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(root), trust_remote_code=trust_remote_code)
        except (OSError, ValueError) as err:
            if not is_adapter:
                raise ModelLoadError(f"could not load the tokenizer in {root}: {err}") from err
            ref = _adapter_base(root)
            tokenizer = AutoTokenizer.from_pretrained(
                str(resolve_model_dir(ref["path"]) / ref.get("subfolder", "")), trust_remote_code=trust_remote_code
            )
        model = cls(encoder, tokenizer, passage_encoder=passage_encoder, **settings)
        if lora:
            from hf_hybrid.lora import apply_lora

            if any(_is_peft(t) for t in model._towers()):
                if isinstance(lora, Mapping):
                    raise ValueError(f"{root} already holds LoRA adapters; pass lora=True to train them, not a new config")
                for tower in model._towers():
                    if _is_peft(tower):
                        for pname, param in tower.named_parameters():
                            param.requires_grad = "lora_" in pname
            else:
                apply_lora(model, **(dict(lora) if isinstance(lora, Mapping) else {}), verbose=False)
        return model


def _base_settings(ref: Mapping[str, str]) -> dict[str, Any]:
    """Settings of an adapter's base model when the adapter dir has none of its own."""
    try:
        base = resolve_model_dir(ref["path"])
    except ModelLoadError:
        return {}
    base = base / ref.get("subfolder", "") if ref.get("subfolder") else base
    if (base / CONFIG_NAME).exists():
        d = _read_json(base / CONFIG_NAME)
        return {k: d[k] for k in ("pooling", "normalize", "query_prompt", "passage_prompt", "query_max_length", "passage_max_length") if k in d}
    if (base / "modules.json").exists():
        return _settings_from_st(base)
    return {}


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _check_kind(kind: str) -> None:
    if kind not in ("query", "passage"):
        raise ValueError(f"kind={kind!r}: use 'query' or 'passage'")


def _check_texts(texts: Iterable[Any]) -> list[str]:
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] is {type(t).__name__}, expected str")
    return out
