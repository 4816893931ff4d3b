"""The two-process (gloo) half of tests/modeling/test_loss.py: the worker and what it shares with the test.

In a module of its own because ``mp.spawn`` pickles the worker by module name, and the spawned process
must import that module: pytest's importlib mode names test modules ``tests.modeling.test_loss``, which
a child cannot import, while this one is importable as ``gloo_loss_worker`` (tests/modeling/conftest.py
puts this folder on ``sys.path``, and spawned processes inherit it). The process group and its teardown
are tests/gloo_support.py's.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from gloo_support import gloo_group
from torch import nn

from hf_hybrid.modeling import InfoNCELoss

H_IN, H = 6, 8
SIZES = (3, 2)  # unequal per-rank batches (a short last batch) must also be exact
K = 2  # hard negatives per query
GROUPS = (10, 10, 11, 11, 12)  # multi-positive: group 11 has a pair on each rank (rank 0: rows 0-2, rank 1: 3-4)


class _Tower(nn.Module):
    """A linear 'encoder' + the loss, so DDP averages every gradient, the temperature's included."""

    def __init__(self, symmetric, multi_positive="mean"):
        super().__init__()
        torch.manual_seed(0)
        self.proj = nn.Linear(H_IN, H)
        self.loss = InfoNCELoss(0.07, learnable_temperature=True, symmetric=symmetric, multi_positive=multi_positive)

    def forward(self, xq, xp, xn, group_ids=None):
        b, m = xq.shape[0], xp.shape[0]
        z = F.normalize(self.proj(torch.cat([xq, xp, xn])), dim=-1)  # one forward pass, as DDP wants
        return self.loss(z[:b], z[b : b + m], z[b + m :].reshape(b, K, H), group_ids=group_ids)


def _data(sizes):
    g = torch.Generator().manual_seed(123)
    n = sum(sizes)
    return torch.randn(n, H_IN, generator=g), torch.randn(n, H_IN, generator=g), torch.randn(n * K, H_IN, generator=g)


def _grads(model):
    return {k: p.grad.clone() for k, p in model.named_parameters()}


def _worker(rank, world, port, sizes, symmetric, out_path):
    with gloo_group(rank, world, port):
        xq, xp, xn = _data(sizes)
        lo, hi = sum(sizes[:rank]), sum(sizes[: rank + 1])
        model = nn.parallel.DistributedDataParallel(_Tower(symmetric))
        loss = model(xq[lo:hi], xp[lo:hi], xn[lo * K : hi * K])
        loss.backward()
        losses = [torch.zeros(()) for _ in range(world)]
        dist.all_gather(losses, loss.detach())
        if rank == 0:
            torch.save({"losses": torch.stack(losses), "grads": _grads(model.module)}, out_path)
        del model  # DDP's reducer goes before the group (tests/gloo_support.py)


def _variants_worker(rank, world, port, sizes, form, out_path):
    """One symmetric DDP model, three steps from the same weights: no group ids, distinct ids, GROUPS."""
    with gloo_group(rank, world, port):
        xq, xp, xn = _data(sizes)
        lo, hi = sum(sizes[:rank]), sum(sizes[: rank + 1])
        model = nn.parallel.DistributedDataParallel(_Tower(True, multi_positive=form))
        variants = {"none": None, "distinct": torch.arange(sum(sizes)) * 31 + 5, "multi": torch.tensor(GROUPS)}
        out = {}
        for name, ids in variants.items():
            model.zero_grad(set_to_none=True)
            loss = model(xq[lo:hi], xp[lo:hi], xn[lo * K : hi * K], None if ids is None else ids[lo:hi])
            loss.backward()
            losses = [torch.zeros(()) for _ in range(world)]
            dist.all_gather(losses, loss.detach())
            out[name] = {"losses": torch.stack(losses), "grads": _grads(model.module)}
        if rank == 0:
            torch.save(out, out_path)
        del model  # DDP's reducer goes before the group (tests/gloo_support.py)
