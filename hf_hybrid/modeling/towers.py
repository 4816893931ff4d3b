"""One tower of a DualEncoder: where it lives in a checkpoint, and how it loads.

A tower is a transformers ``AutoModel`` encoder, or a PEFT model around one. In a checkpoint the query
(or shared) tower sits at the root and a separate passage tower in ``passage_encoder/``
(:data:`TOWER_SLOTS`, ``docs/design.md`` section 4). A tower folder holding a PEFT adapter instead of
weights is loaded as base model + adapter; the base is found in ``hf_hybrid_config.json`` (which can
name a base inside a subfolder of a local directory), else in PEFT's ``adapter_config.json``.

:func:`check_text_encoder` refuses, before any weights load, models that are not text encoders
(decoder-only language models unless the caller or the folder opts in, and sequence-to-sequence models).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

from torch import nn
from transformers import AutoModel

from hf_hybrid.checkpoint import (
    ADAPTER_CONFIG_NAME,
    HF_HYBRID_CONFIG_NAME,
    PASSAGE_SUBFOLDER,
    ModelLoadError,
    read_json,
    resolve_model_dir,
)
from hf_hybrid.checkpoint.layout import MODEL_CONFIG_NAME
from hf_hybrid.modeling.pooling import Pooling


class TowerSlot(NamedTuple):
    """Where a tower lives: the DualEncoder attribute, the role of the texts it encodes, its checkpoint subfolder."""

    attr: str
    role: str
    subfolder: str

    def folder(self, root: Path) -> Path:
        """The tower's folder inside the checkpoint directory ``root``."""
        return root / self.subfolder if self.subfolder else root


TOWER_SLOTS = (TowerSlot("encoder", "query", ""), TowerSlot("passage_encoder", "passage", PASSAGE_SUBFOLDER))


def present_towers(model: Any) -> list[tuple[TowerSlot, nn.Module]]:
    """The towers ``model`` (a DualEncoder, or anything with ``encoder`` / ``passage_encoder``) has."""
    return [(slot, getattr(model, slot.attr)) for slot in TOWER_SLOTS if getattr(model, slot.attr, None) is not None]


def is_peft(tower: nn.Module) -> bool:
    """Whether ``tower`` is a PEFT model (a base encoder with adapters)."""
    try:
        from peft import PeftModel
    except ImportError:  # pragma: no cover - peft is a dependency
        return False
    return isinstance(tower, PeftModel)


def unwrap(tower: nn.Module) -> nn.Module:
    """The transformers model inside a tower (PEFT wrappers removed)."""
    get_base = getattr(tower, "get_base_model", None)
    return get_base() if callable(get_base) else tower


def is_adapter_dir(folder: Path) -> bool:
    """Whether ``folder`` holds a PEFT adapter rather than a full encoder."""
    return (folder / ADAPTER_CONFIG_NAME).exists() and not (folder / MODEL_CONFIG_NAME).exists()


class AdapterBase(NamedTuple):
    """The base model of an adapter folder: a local path or Hub id, and a subfolder inside it."""

    path: str
    subfolder: str = ""

    def directory(self) -> Path:
        """The base model's local directory (a Hub id is resolved; raises ``ModelLoadError``)."""
        root = resolve_model_dir(self.path)
        return root / self.subfolder if self.subfolder else root


def adapter_base(folder: Path) -> AdapterBase:
    """Where the base model of an adapter folder lives: hf-hybrid's record, else PEFT's."""
    ours = folder / HF_HYBRID_CONFIG_NAME
    if not ours.exists() and folder.name == PASSAGE_SUBFOLDER and (folder.parent / HF_HYBRID_CONFIG_NAME).exists():
        ours = folder.parent / HF_HYBRID_CONFIG_NAME
    if ours.exists():
        role = "passage" if folder.name == PASSAGE_SUBFOLDER else "query"
        lora = (read_json(ours).get("lora") or {}).get(role)
        if lora and lora.get("base_model_name_or_path"):
            return AdapterBase(lora["base_model_name_or_path"], lora.get("base_subfolder", ""))
    base = read_json(folder / ADAPTER_CONFIG_NAME).get("base_model_name_or_path")
    if not base:
        raise ModelLoadError(f"{folder / ADAPTER_CONFIG_NAME} has no base_model_name_or_path: cannot find the base model")
    return AdapterBase(base)


# What to use instead, in the refusal messages.
_ENCODERS = "xlm-roberta-base, bert-base-multilingual-cased or intfloat/multilingual-e5-base"
_DECODER_SUFFIXES = ("ForCausalLM", "LMHeadModel")
_SEQ2SEQ_SUFFIXES = ("ForConditionalGeneration", "ForSeq2SeqLM")


def _is_decoder_type(model_type: str) -> bool:
    """A model type transformers knows only as a causal LM (no masked-LM head: GPT-2, Llama, Mistral, Qwen...)."""
    try:
        from transformers.models.auto.modeling_auto import (
            MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
            MODEL_FOR_MASKED_LM_MAPPING_NAMES,
        )
    except ImportError:  # pragma: no cover - a transformers without these tables: architectures decide alone
        return False
    return model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES


def _is_lasttoken(pooling: Any) -> bool:
    try:
        return pooling is not None and Pooling.parse(pooling) is Pooling.LASTTOKEN
    except ValueError:
        return False


def model_kind(config: dict[str, Any]) -> str:
    """``"seq2seq"``, ``"decoder"`` or ``"encoder"`` for a transformers ``config.json`` (a dict).

    seq2seq: ``is_encoder_decoder`` or an architecture ending in ``ForConditionalGeneration`` / ``ForSeq2SeqLM``
    (T5, mT5, BART...). decoder: an architecture ending in ``ForCausalLM`` / ``LMHeadModel``, ``is_decoder``, or a
    model type transformers has only as a causal LM (GPT-2, Llama, Mistral, Qwen...; BERT/XLM-R, which also
    have causal-LM heads, are encoders). Everything else is an encoder.
    """
    architectures = [str(a) for a in config.get("architectures") or []]
    if config.get("is_encoder_decoder") or any(a.endswith(_SEQ2SEQ_SUFFIXES) for a in architectures):
        return "seq2seq"
    if (any(a.endswith(_DECODER_SUFFIXES) for a in architectures) or config.get("is_decoder")
            or _is_decoder_type(str(config.get("model_type", "")))):
        return "decoder"
    return "encoder"


def check_text_encoder(folder: Path, *, pooling: Any, declared: bool, allow_decoder: bool) -> None:
    """Raise :class:`ModelLoadError` when the model in ``folder`` (or an adapter's base) is not a text encoder.

    The rule (:func:`model_kind` classifies ``config.json``):

    * a sequence-to-sequence model (T5, BART...) is always refused: ``AutoModel`` builds the whole
      encoder-decoder, which needs decoder inputs;
    * a decoder-only model (GPT-2, ``*ForCausalLM``...) is refused unless it is packaged as an embedding model
      (``declared``: the folder has sentence-transformers modules or ``hf_hybrid_config.json``, as e5-mistral and
      Qwen3-Embedding do), or the caller opts in with ``pooling="lasttoken"`` (the decoder-embedding recipe) or
      ``allow_decoder=True`` (any pooling);
    * anything else loads. A folder without ``config.json`` is left to the loader to report.
    """
    config_file = folder / MODEL_CONFIG_NAME
    if not config_file.exists() and is_adapter_dir(folder):
        try:
            config_file = adapter_base(folder).directory() / MODEL_CONFIG_NAME
        except ModelLoadError:
            return  # the tower loader reports the missing base
    if not config_file.exists():
        return
    config = read_json(config_file)
    kind = model_kind(config)
    if kind == "encoder":
        return
    what = f"model_type {config.get('model_type')!r}, architectures {list(config.get('architectures') or [])}"
    if kind == "seq2seq":
        raise ModelLoadError(
            f"{folder} is a sequence-to-sequence (encoder-decoder) model ({what}), not a text encoder: a DualEncoder "
            f"cannot run it. Use an encoder model such as {_ENCODERS}.")
    if declared or allow_decoder or _is_lasttoken(pooling):
        return
    raise ModelLoadError(
        f"{folder} is a decoder-only language model ({what}), not a text encoder. Use an encoder model such as "
        f"{_ENCODERS}. Decoder-based embedding models (e5-mistral, Qwen3-Embedding) load when their folder says how to "
        "embed (sentence-transformers modules); to embed this one anyway pass pooling='lasttoken' (the usual recipe "
        "for decoders) or allow_decoder=True.")


def load_tower(
    path: str | os.PathLike, *, subfolder: str = "", dtype: Any = None, trust_remote_code: bool = False
) -> nn.Module:
    """Load one tower: a plain HF encoder, or base + PEFT adapter (frozen) when the folder is an adapter."""
    folder = Path(path) / subfolder if subfolder else Path(path)
    if is_adapter_dir(folder):
        from peft import PeftModel

        base = load_tower(adapter_base(folder).directory(), dtype=dtype, trust_remote_code=trust_remote_code)
        return PeftModel.from_pretrained(base, str(folder), is_trainable=False)
    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if dtype is not None:
        kwargs["dtype"] = dtype
    try:
        model = AutoModel.from_pretrained(str(folder), **kwargs)
    except (OSError, ValueError) as err:  # transformers 5 raises ValueError for a folder it cannot recognise
        raise ModelLoadError(f"could not load the encoder in {folder}: {err}") from err
    # An absolute name makes PEFT adapters saved from this model point at a base that resolves from
    # any working directory.
    model.name_or_path = str(folder.resolve())
    model.config._name_or_path = str(folder.resolve())
    return model
