"""``merge_and_export``: an adapter checkpoint (or a LoRA DualEncoder) -> a merged full model.

Why: a LoRA checkpoint needs PEFT and its base model to load; a merged one is a plain transformers /
sentence-transformers model that loads anywhere (``AutoModel``, ``SentenceTransformer``, ``DualEncoder``)
and gives the same embeddings as base + adapter (``docs/design.md`` section 4).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path

from hf_hybrid.modeling.dual_encoder import DualEncoder
from hf_hybrid.modeling.lora import merge_lora


def merge_and_export(
    adapter_dir_or_model: str | os.PathLike | DualEncoder,
    out_dir: str | os.PathLike,
    *,
    model_card: str | None = None,
    extra_files: Mapping[str, str | bytes] | None = None,
) -> Path:
    """Merge LoRA adapters into the base weights and save a full model in our layout at ``out_dir``.

    Accepts an adapter directory (or Hub id) or a LoRA :class:`DualEncoder`, which is left untouched: a
    copy is merged. ``model_card`` and ``extra_files`` are passed to :meth:`DualEncoder.save_pretrained`.
    Raises ``ValueError`` when there is nothing to merge.
    """
    if isinstance(adapter_dir_or_model, DualEncoder):
        model = copy.deepcopy(adapter_dir_or_model)
    else:
        model = DualEncoder.from_pretrained(adapter_dir_or_model)
    merge_lora(model)
    return model.save_pretrained(out_dir, model_card=model_card, extra_files=extra_files)
