"""Whether torch sees a GPU-like device: the one answer that training and corpus encoding share.

Why: a multi-process launch (``torchrun``, ``accelerate launch --multi_gpu``) on a machine without such a device
must run on the CPU over gloo, or each process works alone; training (``HybridTrainingArguments``) and
``python -m hf_hybrid.encode`` decide this the same way.
"""

from __future__ import annotations


def has_accelerator() -> bool:
    """CUDA / ROCm, XPU or Apple MPS available to torch."""
    import torch

    xpu = getattr(torch, "xpu", None)
    mps = getattr(torch.backends, "mps", None)
    return bool(torch.cuda.is_available() or (xpu is not None and xpu.is_available())
                or (mps is not None and mps.is_available()))
