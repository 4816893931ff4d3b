"""The retriever: :class:`DualEncoder` (two towers or one, pooling, prompts), its loss and LoRA.

- :mod:`~hf_hybrid.modeling.config`: :class:`DualEncoderConfig`, the settings saved with a model;
- :mod:`~hf_hybrid.modeling.pooling`: :class:`Pooling` and :func:`pool`;
- :mod:`~hf_hybrid.modeling.dual_encoder`: :class:`DualEncoder` (forward, encode, save), with its
  loading and saving steps in :mod:`~hf_hybrid.modeling.loading` / :mod:`~hf_hybrid.modeling.saving`
  and one tower's in :mod:`~hf_hybrid.modeling.towers`;
- :mod:`~hf_hybrid.modeling.loss`: :class:`InfoNCELoss` with cross-process in-batch negatives;
- :mod:`~hf_hybrid.modeling.lora` / :mod:`~hf_hybrid.modeling.export`: LoRA via PEFT, merged export;
- :mod:`~hf_hybrid.modeling.tiny_encoder`: :func:`build_tiny_encoder` for tests and offline smoke runs.

A saved model is a plain sentence-transformers / transformers checkpoint (``docs/design.md`` section 4,
written through :mod:`hf_hybrid.checkpoint`).
"""

from hf_hybrid.checkpoint.errors import ModelLoadError
from hf_hybrid.modeling.config import DualEncoderConfig
from hf_hybrid.modeling.dual_encoder import DualEncoder, DualEncoderOutput
from hf_hybrid.modeling.export import merge_and_export
from hf_hybrid.modeling.lora import apply_lora, default_target_modules, merge_lora
from hf_hybrid.modeling.loss import InfoNCELoss, gather_with_grad
from hf_hybrid.modeling.pooling import Pooling, pool
from hf_hybrid.modeling.tiny_encoder import build_tiny_encoder
from hf_hybrid.modeling.tokenizer import ensure_pad_token

__all__ = [
    "DualEncoder",
    "DualEncoderConfig",
    "DualEncoderOutput",
    "InfoNCELoss",
    "ModelLoadError",
    "Pooling",
    "apply_lora",
    "build_tiny_encoder",
    "default_target_modules",
    "ensure_pad_token",
    "gather_with_grad",
    "merge_and_export",
    "merge_lora",
    "pool",
]
