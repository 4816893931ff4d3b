"""hf_hybrid.modeling.device: one answer to "is there a GPU-like device?" for training and encoding.

That a 2-process launch without a GPU trains as one gloo group is checked by CI's smoke run (`.ci/run`:
`.ci/check_checkpoint.py RUN 2` asserts the record's num_processes == 2).
"""

import torch

from hf_hybrid.modeling.device import has_accelerator


def test_has_accelerator_follows_torch(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    if getattr(torch, "xpu", None) is not None:
        monkeypatch.setattr(torch.xpu, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert has_accelerator() is False
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert has_accelerator() is True

