"""The two-process (gloo) half of tests/training/test_grad_cache.py: the worker and what it shares with the test.

A module of its own for the reason tests/modeling/gloo_loss_worker.py gives (``mp.spawn`` pickles the worker by
module name; the test puts this folder on ``sys.path``, which spawned processes inherit). The process group and
its teardown are tests/gloo_support.py's.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from gloo_support import gloo_group
from torch import nn

from hf_hybrid.modeling import DualEncoder, InfoNCELoss
from hf_hybrid.training import PairCollator
from hf_hybrid.training.grad_cache import grad_cache_step

SIZES = (4, 3)  # unequal per-rank batches: a short last batch must also be exact
MINI_BATCH = 2
TEMPERATURE = 0.07


def build(encoder_dir, separate_towers=False):
    """The model (eval mode: no dropout, so one process and two draw the same function) and the loss."""
    torch.manual_seed(0)
    model = DualEncoder.from_pretrained(str(encoder_dir), query_max_length=24, passage_max_length=32,
                                        separate_towers=separate_towers)
    model.eval()
    return model, InfoNCELoss(TEMPERATURE, learnable_temperature=True)


def items(queries, passages, negatives):
    """Collator items: every pair with one hard negative."""
    return [{"query": q, "positive": p, "negatives": [n]} for q, p, n in zip(queries, passages, negatives)]


def grads(model, loss):
    out = {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}
    out["loss.log_temperature"] = loss.log_temperature.grad.clone()
    return out


def _worker(rank, world, port, encoder_dir, separate_towers, texts, out_path):
    with gloo_group(rank, world, port):
        model, loss_fn = build(encoder_dir, separate_towers)
        lo, hi = sum(SIZES[:rank]), sum(SIZES[: rank + 1])
        collate = PairCollator(model, mini_batch_size=MINI_BATCH, length_sorted_chunks=True)
        batch = collate(items(*(t[lo:hi] for t in texts)))
        # find_unused_parameters: the Trainer's choice for a model that is not a PreTrainedModel (the pooler is unused)
        ddp = nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
        loss = grad_cache_step(ddp, batch, loss_fn, size=MINI_BATCH, sort_by_length=True, no_sync=ddp.no_sync)
        # DDP averages the model's gradients; the loss's own parameter is averaged by hand, as the trainer does
        dist.all_reduce(loss_fn.log_temperature.grad)
        loss_fn.log_temperature.grad /= world
        losses = [torch.zeros(()) for _ in range(world)]
        dist.all_gather(losses, loss.detach())
        if rank == 0:
            torch.save({"losses": torch.stack(losses), "grads": grads(model, loss_fn)}, out_path)
        del ddp  # DDP's reducer goes before the group (tests/gloo_support.py)
