"""``DualEncoder``: a query/passage retriever around any Hugging Face ``AutoModel`` text encoder.

Why a module of our own rather than ``SentenceTransformer`` for training: the hybrid sampler and the
gathered InfoNCE loss need direct control over the query and passage forward passes (two towers,
per-role prompts and max lengths, hard negatives, LoRA on the towers), while the *saved* model must
still be a plain sentence-transformers / transformers checkpoint that anyone can load without this
package (``docs/design.md`` section 4). So training goes through :class:`DualEncoder`, and
:meth:`DualEncoder.save_pretrained` writes that layout itself, atomically.

The steps of saving and loading are in :mod:`hf_hybrid.modeling.saving` and :mod:`hf_hybrid.modeling.loading`,
LoRA in :mod:`hf_hybrid.modeling.lora`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from transformers import BatchEncoding, PreTrainedTokenizerBase

from hf_hybrid.checkpoint.st_format import SETTING_KEYS
from hf_hybrid.modeling import loading, saving
from hf_hybrid.modeling.config import (
    DEFAULT_PASSAGE_MAX_LENGTH,
    DEFAULT_QUERY_MAX_LENGTH,
    DualEncoderConfig,
    check_max_length,
    default_max_length,
)
from hf_hybrid.modeling.lora import lora_settings
from hf_hybrid.modeling.pooling import Pooling, pool
from hf_hybrid.modeling.tokenizer import ensure_pad_token
from hf_hybrid.modeling.towers import is_peft, present_towers, unwrap

logger = logging.getLogger(__name__)

TextRole = Literal["query", "passage"]  # which side of retrieval a text is on


class DualEncoderOutput(NamedTuple):
    """Embeddings from :meth:`DualEncoder.forward` (``[N, H]`` each, ``None`` when not requested).

    A named tuple, so both ``q, p, n = model(...)`` and ``out.query_embeddings`` work.
    """

    query_embeddings: Tensor | None = None
    passage_embeddings: Tensor | None = None
    negative_embeddings: Tensor | None = None


def _check_role(role: str) -> None:
    if role not in ("query", "passage"):
        raise ValueError(f"role={role!r}: use 'query' or 'passage'")


def _check_texts(texts: Iterable[Any]) -> list[str]:
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] is {type(t).__name__}, expected str")
    return out


class DualEncoder(nn.Module):
    """Query/passage encoder: shared weights by default, or two towers.

    Args:
        encoder: any ``AutoModel`` text encoder (XLM-R, BERT/LaBSE, e5...), or a PEFT model around one.
            It encodes queries, and passages too unless ``passage_encoder`` is given.
        tokenizer: the encoder's tokenizer (also used by the passage tower, which must share the vocabulary).
        passage_encoder: optional separate passage tower (same hidden size).
        pooling: a :class:`~hf_hybrid.modeling.pooling.Pooling` or its name (``"last-token"`` etc. accepted).
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
        pooling: Pooling | str = Pooling.MEAN,
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
        cfg = unwrap(encoder).config
        pcfg = unwrap(passage_encoder).config if passage_encoder is not None else cfg
        hq, hp = getattr(cfg, "hidden_size", None), getattr(pcfg, "hidden_size", None)
        if hq != hp:
            raise ValueError(f"query tower hidden_size={hq} differs from passage tower hidden_size={hp}")
        qlen = default_max_length(DEFAULT_QUERY_MAX_LENGTH, cfg) if query_max_length is None else query_max_length
        plen = default_max_length(DEFAULT_PASSAGE_MAX_LENGTH, pcfg) if passage_max_length is None else passage_max_length
        self.settings = DualEncoderConfig(
            pooling=Pooling.parse(pooling).value,
            normalize=bool(normalize),
            query_prompt=query_prompt,
            passage_prompt=passage_prompt,
            query_max_length=check_max_length("query_max_length", qlen, cfg),
            passage_max_length=check_max_length("passage_max_length", plen, pcfg),
            shared_towers=passage_encoder is None,
        )

    # -- properties -----------------------------------------------------------------------------

    @property
    def config(self):
        """The (query) encoder's transformers config: what HF Trainer and accelerate look for."""
        return unwrap(self.encoder).config

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

    def tower(self, role: TextRole) -> nn.Module:
        """The module that encodes ``role`` texts."""
        _check_role(role)
        return self.passage_encoder if (role == "passage" and self.passage_encoder is not None) else self.encoder

    def prompt(self, role: TextRole) -> str:
        _check_role(role)
        return self.settings.query_prompt if role == "query" else self.settings.passage_prompt

    def max_length(self, role: TextRole) -> int:
        _check_role(role)
        return self.settings.query_max_length if role == "query" else self.settings.passage_max_length

    def _towers(self) -> list[nn.Module]:
        return [tower for _, tower in present_towers(self)]

    def get_config_dict(self) -> dict[str, Any]:
        """The retrieval settings as a JSON-ready dict (the ``model`` section of the training record).

        Keys: ``pooling``, ``normalize``, ``query_prompt``, ``passage_prompt``, ``query_max_length``,
        ``passage_max_length``, ``shared_towers``, and ``lora``: ``None``, or the LoRA settings of the
        towers (``r``, ``lora_alpha``, ``lora_dropout``, ``target_modules``).
        """
        peft_towers = [tower for tower in self._towers() if is_peft(tower)]
        out: dict[str, Any] = {key: getattr(self.settings, key) for key in SETTING_KEYS}
        out["shared_towers"] = self.shared_towers
        out["lora"] = lora_settings(peft_towers[0]) if peft_towers else None
        return out

    # -- tokenisation & forward -----------------------------------------------------------------

    def tokenize(self, texts: str | Sequence[str], role: TextRole = "query") -> BatchEncoding:
        """Prepend the ``role`` prompt and truncate to its max length; no padding (the collator pads)."""
        if isinstance(texts, str):
            texts = [texts]
        prompt = self.prompt(role)
        texts = [prompt + t for t in _check_texts(texts)]
        return self.tokenizer(texts, truncation=True, max_length=self.max_length(role), padding=False)

    def embed(self, inputs: Mapping[str, Tensor], role: TextRole = "query") -> Tensor:
        """Pooled (and normalised) embeddings ``[B, H]`` in float32 for padded, tokenised inputs."""
        tower = self.tower(role)
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
        role: TextRole = "query",
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
        features = self.tokenize(items, role) if items else {"input_ids": []}
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
                desc = "Encoding queries" if role == "query" else "Encoding passages"
                for s in tqdm(starts, desc=desc, disable=not show_progress_bar):
                    idx = order[s : s + batch_size]
                    enc = self.tokenizer.pad({k: [v[i] for i in idx] for k, v in features.items()}, return_tensors="pt")
                    chunks.append(self.embed({k: v.to(dev) for k, v in enc.items()}, role))
        finally:
            self.train(was_training)
        emb = torch.cat(chunks) if chunks else torch.empty(0, self.embedding_dim, device=dev)
        inverse = torch.empty(len(order), dtype=torch.long)
        inverse[torch.tensor(order, dtype=torch.long)] = torch.arange(len(order))
        emb = emb[inverse.to(emb.device)]
        if single:
            emb = emb[0]
        return emb.float().cpu().numpy() if convert_to == "numpy" else emb

    def encode_queries(self, texts: str | Sequence[str], **kwargs: Any) -> np.ndarray | Tensor:
        """``encode(texts, role="query", ...)``: applies the query prompt and max length."""
        return self.encode(texts, role="query", **kwargs)

    def encode_passages(self, texts: str | Sequence[str], **kwargs: Any) -> np.ndarray | Tensor:
        """``encode(texts, role="passage", ...)``: applies the passage prompt and max length."""
        return self.encode(texts, role="passage", **kwargs)

    # -- activation (gradient) checkpointing ------------------------------------------------------

    def activation_checkpointing_enable(
        self, activation_checkpointing_kwargs: dict | None = None, every_n_layers: int = 1, offload: bool = False
    ) -> None:
        """Enable activation checkpointing on every tower (the name HF Trainer 5.x calls).

        transformers also makes the embedding outputs require grad, so that checkpointed layers still
        back-propagate into LoRA adapters when the embeddings are frozen.
        """
        kwargs = dict(activation_checkpointing_kwargs or {"use_reentrant": False})
        for tower in self._towers():
            base = unwrap(tower)
            if hasattr(base, "activation_checkpointing_enable"):
                extra = {"every_n_layers": every_n_layers, "offload": offload} if (every_n_layers != 1 or offload) else {}
                base.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs, **extra)
            else:  # transformers 5.0-5.x before the rename
                base.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs: dict | None = None, **kwargs: Any) -> None:
        """Alias of :meth:`activation_checkpointing_enable`: the name PEFT, sentence-transformers and older code call."""
        self.activation_checkpointing_enable(gradient_checkpointing_kwargs, **kwargs)

    def activation_checkpointing_disable(self) -> None:
        for tower in self._towers():
            base = unwrap(tower)
            if hasattr(base, "activation_checkpointing_disable"):
                base.activation_checkpointing_disable()
            else:
                base.gradient_checkpointing_disable()

    gradient_checkpointing_disable = activation_checkpointing_disable

    @property
    def is_activation_checkpointing(self) -> bool:
        return any(getattr(m, "gradient_checkpointing", False) for m in self.modules())

    is_gradient_checkpointing = is_activation_checkpointing

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
        """Write the checkpoint layout of ``docs/design.md`` section 4, atomically (see :mod:`~hf_hybrid.modeling.saving`).

        ``state_dict`` (keys of ``self.state_dict()``) is what HF Trainer passes when it gathered the
        weights itself (DeepSpeed/FSDP); by default the live weights are saved. ``model_card`` becomes
        ``README.md`` and ``extra_files`` (relative name -> content, e.g. the training record) are
        written inside the same atomic publish. Non-main processes return without writing.
        """
        if not safe_serialization:
            raise ValueError("safe_serialization=False is not supported: transformers 5 writes safetensors only")
        target = Path(save_directory)
        if not is_main_process:
            return target
        if unused:
            logger.debug("save_pretrained: ignoring %s", sorted(unused))
        return saving.save_dual_encoder(self, target, state_dict=state_dict, model_card=model_card, extra_files=extra_files)

    # -- loading --------------------------------------------------------------------------------

    def load_weights(self, path: str | os.PathLike) -> DualEncoder:
        """Load the tower weights saved in ``path`` into this model in place (for resuming training).

        In place so that an optimizer built on this model keeps pointing at the right tensors.
        """
        loading.load_weights(self, path)
        return self

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike,
        *,
        pooling: Pooling | str | None = None,
        normalize: bool | None = None,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        query_max_length: int | None = None,
        passage_max_length: int | None = None,
        separate_towers: bool | None = None,
        dtype: Any = None,
        trust_remote_code: bool = False,
        lora: bool | Mapping[str, Any] | None = None,
        revision: str | None = None,
        token: str | bool | None = None,
        allow_decoder: bool = False,
    ) -> DualEncoder:
        """Load a DualEncoder from a local directory or Hub id.

        Accepts our layout, a sentence-transformers directory, a plain HF encoder or a PEFT adapter
        directory; keyword arguments that are not None override what the directory says (precedence:
        :mod:`hf_hybrid.modeling.loading`). ``separate_towers=True`` on a shared checkpoint starts a
        passage tower as a copy of the encoder. ``lora``: ``True`` makes loaded adapters trainable (or adds
        default LoRA to a full model); a dict is passed to :func:`~hf_hybrid.modeling.lora.apply_lora`.
        ``dtype`` goes to ``AutoModel.from_pretrained``. Models that are not text encoders raise ``ModelLoadError``
        (seq2seq always; decoder-only LMs unless the folder is a packaged embedding model, ``pooling="lasttoken"`` or
        ``allow_decoder=True``: :func:`~hf_hybrid.modeling.towers.check_text_encoder`).
        """
        overrides = dict(pooling=pooling, normalize=normalize, query_prompt=query_prompt, passage_prompt=passage_prompt,
                         query_max_length=query_max_length, passage_max_length=passage_max_length)
        return loading.load_dual_encoder(
            cls, name_or_path, overrides, separate_towers=separate_towers, dtype=dtype,
            trust_remote_code=trust_remote_code, lora=lora, revision=revision, token=token, allow_decoder=allow_decoder,
        )
