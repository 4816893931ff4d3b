"""What ``DualEncoder.from_pretrained`` and ``DualEncoder.load_weights`` do, step by step.

``from_pretrained`` accepts four kinds of directory (``docs/design.md`` section 4), and takes the
retrieval settings (pooling, normalisation, prompts, lengths) from the first that applies:

1. our layout: ``hf_hybrid_config.json`` (also says whether the towers are shared);
2. a sentence-transformers directory: its modules, prompts and lengths (modules with no DualEncoder
   equivalent, such as ``Dense``, are dropped with a warning);
3. a PEFT adapter directory: the settings of its base model, found as in 1 or 2;
4. a plain Hugging Face encoder: none (mean pooling, normalised, no prompts, default lengths).

Keyword arguments that are not None override whatever the directory says. A model that is not a text
encoder is refused before any weights load (:func:`hf_hybrid.modeling.towers.check_text_encoder`: seq2seq
always; decoder-only unless the folder states settings as in 1-3, ``pooling="lasttoken"`` or
``allow_decoder=True``). Then the towers load (each
a plain encoder or base + adapter, :mod:`hf_hybrid.modeling.towers`), the tokenizer (an adapter
directory without one borrows its base model's), and LoRA is switched on if asked.

This module builds the model through the class it is given, so it does not import
:mod:`hf_hybrid.modeling.dual_encoder`.
"""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import Tensor, nn
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from hf_hybrid.checkpoint import (
    HF_HYBRID_CONFIG_NAME,
    PASSAGE_SUBFOLDER,
    ModelLoadError,
    read_json,
    resolve_model_dir,
)
from hf_hybrid.checkpoint.layout import ADAPTER_WEIGHT_FILES, MODULES_NAME
from hf_hybrid.checkpoint.st_format import SETTING_KEYS, read_modules, read_st_settings
from hf_hybrid.modeling.config import DualEncoderConfig
from hf_hybrid.modeling.lora import apply_lora, has_lora, train_adapters_only
from hf_hybrid.modeling.pooling import Pooling
from hf_hybrid.modeling.towers import (
    adapter_base,
    check_text_encoder,
    is_adapter_dir,
    is_peft,
    load_tower,
    present_towers,
)

# sentence-transformers modules that change the embedding and that a DualEncoder cannot reproduce.
_DROPPED_MODULES = ("Dense", "Router", "LayerNorm")


# -- settings --------------------------------------------------------------------------------------


def _settings_from_st(root: Path) -> dict[str, Any]:
    for module in read_modules(root):
        module_type = str(module.get("type", ""))
        if module_type.endswith(_DROPPED_MODULES):
            warnings.warn(
                f"{root}: sentence-transformers module {module_type!r} (path {module.get('path')!r}) has no DualEncoder "
                "equivalent and is dropped: embeddings will differ from SentenceTransformer on this directory",
                stacklevel=4,
            )
    return read_st_settings(root)


def _own_settings(folder: Path) -> tuple[dict[str, Any], bool] | None:
    """(settings, shared_towers) stated by ``folder`` itself (steps 1 and 2), or None."""
    if (folder / HF_HYBRID_CONFIG_NAME).exists():
        saved = DualEncoderConfig.from_dict(read_json(folder / HF_HYBRID_CONFIG_NAME), str(folder / HF_HYBRID_CONFIG_NAME))
        return {key: getattr(saved, key) for key in SETTING_KEYS}, saved.shared_towers
    if (folder / MODULES_NAME).exists():
        return _settings_from_st(folder), True
    return None


def saved_settings(root: Path) -> tuple[dict[str, Any], bool]:
    """(settings, shared_towers) of a model directory, by the precedence of the module docstring."""
    own = _own_settings(root)
    if own is not None:
        return own
    if is_adapter_dir(root):
        try:
            base = adapter_base(root).directory()
        except ModelLoadError:
            return {}, True
        base_own = _own_settings(base)
        return (base_own[0] if base_own else {}), True
    return {}, True


def resolve_settings(root: Path, overrides: Mapping[str, Any]) -> tuple[dict[str, Any], bool, bool]:
    """The saved settings of ``root`` with the not-None ``overrides`` applied, shared_towers, and whether the
    directory states settings of its own (steps 1-3)."""
    settings, shared = saved_settings(root)
    declared = bool(settings)
    settings.update({key: value for key, value in overrides.items() if value is not None})
    if overrides.get("pooling") is None and "pooling" in settings:
        try:
            Pooling.parse(settings["pooling"])
        except ValueError as err:
            raise ModelLoadError(
                f"{root}: the saved pooling {settings['pooling']!r} has no DualEncoder equivalent "
                f"(one of {tuple(p.value for p in Pooling)}); pass pooling=... to DualEncoder.from_pretrained "
                "to choose one"
            ) from err
    return settings, shared, declared


# -- towers, tokenizer, LoRA -----------------------------------------------------------------------


def load_towers(
    root: Path, *, shared: bool, separate_towers: bool | None, dtype: Any, trust_remote_code: bool
) -> tuple[nn.Module, nn.Module | None]:
    """(query tower, passage tower or None). ``separate_towers=True`` on a shared checkpoint copies the tower."""
    encoder = load_tower(root, dtype=dtype, trust_remote_code=trust_remote_code)
    passage_encoder = None
    if not shared:
        if not (root / PASSAGE_SUBFOLDER).is_dir():
            raise ModelLoadError(f"{root / HF_HYBRID_CONFIG_NAME} says shared_towers=false but {root / PASSAGE_SUBFOLDER} is missing")
        passage_encoder = load_tower(root, subfolder=PASSAGE_SUBFOLDER, dtype=dtype, trust_remote_code=trust_remote_code)
    elif separate_towers:
        passage_encoder = copy.deepcopy(encoder)
    if separate_towers is False and not shared:
        raise ValueError(f"{root} has separate towers; separate_towers=False cannot merge them")
    return encoder, passage_encoder


def load_tokenizer(root: Path, *, trust_remote_code: bool) -> PreTrainedTokenizerBase:
    """The tokenizer saved in ``root``; an adapter directory without one uses its base model's."""
    try:
        return AutoTokenizer.from_pretrained(str(root), trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as err:
        if not is_adapter_dir(root):
            raise ModelLoadError(f"could not load the tokenizer in {root}: {err}") from err
        return AutoTokenizer.from_pretrained(str(adapter_base(root).directory()), trust_remote_code=trust_remote_code)


def enable_lora(model: nn.Module, lora: bool | Mapping[str, Any], root: Path) -> None:
    """``lora=True``: train the loaded adapters (or add default LoRA); a mapping: ``apply_lora(**lora)``."""
    if has_lora(model):
        if isinstance(lora, Mapping):
            raise ValueError(f"{root} already holds LoRA adapters; pass lora=True to train them, not a new config")
        train_adapters_only(model)
    else:
        apply_lora(model, **(dict(lora) if isinstance(lora, Mapping) else {}), verbose=False)


def load_dual_encoder(
    cls: type,
    name_or_path: str | os.PathLike,
    overrides: Mapping[str, Any],
    *,
    separate_towers: bool | None,
    dtype: Any,
    trust_remote_code: bool,
    lora: bool | Mapping[str, Any] | None,
    revision: str | None,
    token: str | bool | None,
    allow_decoder: bool = False,
) -> Any:
    """The body of ``DualEncoder.from_pretrained`` (``cls`` is the class to build); see the module docstring."""
    root = resolve_model_dir(name_or_path, revision=revision, token=token)
    settings, shared, declared = resolve_settings(root, overrides)
    for folder in (root, root / PASSAGE_SUBFOLDER):
        if folder == root or (not shared and folder.is_dir()):
            check_text_encoder(folder, pooling=settings.get("pooling"), declared=declared, allow_decoder=allow_decoder)
    encoder, passage_encoder = load_towers(
        root, shared=shared, separate_towers=separate_towers, dtype=dtype, trust_remote_code=trust_remote_code
    )
    tokenizer = load_tokenizer(root, trust_remote_code=trust_remote_code)
    model = cls(encoder, tokenizer, passage_encoder=passage_encoder, **settings)
    if lora:
        enable_lora(model, lora, root)
    return model


# -- weights into a live model ---------------------------------------------------------------------


def load_weights(model: nn.Module, path: str | os.PathLike) -> None:
    """Load the tower weights saved in ``path`` into ``model``'s towers, in place (for resuming training).

    In place so that an optimizer built on the model keeps pointing at the right tensors. LoRA towers
    load only their adapters; full towers their ``model*.safetensors`` (the unused pooler may be absent).
    """
    from safetensors.torch import load_file

    root = Path(path)
    for slot, tower in present_towers(model):
        folder = slot.folder(root)
        if is_peft(tower):
            from peft import set_peft_model_state_dict

            weights = folder / ADAPTER_WEIGHT_FILES[0]
            if not weights.exists():
                raise ModelLoadError(f"{weights} is missing: {root} is not an adapter checkpoint of this model")
            set_peft_model_state_dict(tower, load_file(str(weights)))
            continue
        files = sorted(folder.glob("model*.safetensors"))
        if not files:
            raise ModelLoadError(f"no model*.safetensors in {folder}: not a full checkpoint of this model")
        state: dict[str, Tensor] = {}
        for f in files:
            state.update(load_file(str(f)))
        missing, unexpected = tower.load_state_dict(state, strict=False)
        if unexpected or [k for k in missing if "pooler" not in k]:
            raise ModelLoadError(f"{folder}: weights do not match the model (missing {missing[:5]}, unexpected {unexpected[:5]})")
