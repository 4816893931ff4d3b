"""Gradient caching (GradCache): the gradient of a big contrastive batch with the memory of one mini-batch.

Gao et al. 2021, "Scaling Deep Contrastive Learning Batch Size under Memory Limited Setup"; Tevatron's
GradCache and sentence-transformers' ``CachedMultipleNegativesRankingLoss`` do the same. The in-batch loss
couples every pair of the batch, but it depends on the parameters only through the embeddings, so its
gradient splits exactly:

1. embed all queries, passages and negatives of the (per-process) batch chunk by chunk **without a graph**,
   saving the RNG state before each forward pass (as ``torch.utils.checkpoint`` does);
2. compute the loss once on those embeddings (detached, ``requires_grad``) through the same
   :class:`~hf_hybrid.modeling.InfoNCELoss`, so the cross-process gather with gradients works unchanged,
   and back-propagate it: this gives ``d loss / d embeddings``, and the loss's own parameters (a learnable
   temperature) their gradients;
3. re-encode each chunk **with a graph** under its saved RNG state (dropout draws the same masks) and
   back-propagate ``embeddings.backward(cached_gradient)``; parameter gradients add up over the chunks.

The forward calls (:func:`plan_calls`): every chunk but each role's last on its own, then the last chunk of
every role in one call. That last call uses every tower, as the plain step's single forward does, so under
DDP the one synchronising backward (the others run under ``no_sync``) reduces every parameter's gradient.
Without gradient caching, :func:`chunked_embeddings` runs the same calls with a graph (length-aware chunks
that back-propagate through one graph): same memory as the plain step, less padding.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import get_device_states, set_device_states

from .chunking import CHUNKS, ORDER, as_chunks, restore_order

#: the roles of a training batch (the keys of the collator's output and of ``DualEncoder.forward``)
ROLES = ("query", "passage", "negatives")
_OUTPUTS = {"query": "query_embeddings", "passage": "passage_embeddings", "negatives": "negative_embeddings"}


class RngState:
    """The CPU and accelerator RNG states before one forward pass, to replay its dropout masks."""

    def __init__(self, inputs: Mapping[str, Mapping[str, Tensor]]) -> None:
        tensors = [t for role in inputs.values() for t in role.values() if isinstance(t, Tensor)]
        self.cpu = torch.get_rng_state()
        self.devices, self.device_states = get_device_states(*tensors)

    def restore(self) -> None:
        torch.set_rng_state(self.cpu)
        if self.devices:
            set_device_states(self.devices, self.device_states)


def plan_calls(inputs: Mapping[str, Any], size: int, sort_by_length: bool = False,
               padding_side: str = "right") -> tuple[list[dict[str, Any]], dict[str, Tensor]]:
    """The forward calls of one step (``{role: padded chunk}`` each) and each role's row order."""
    per_role = {role: as_chunks(inputs[role], size, sort_by_length, padding_side)
                for role in ROLES if inputs.get(role) is not None}
    calls: list[dict[str, Any]] = [{role: chunk} for role, ch in per_role.items() for chunk in ch[CHUNKS][:-1]]
    calls.append({role: ch[CHUNKS][-1] for role, ch in per_role.items() if ch[CHUNKS]})
    return calls, {role: ch[ORDER] for role, ch in per_role.items()}


def _embed(model: nn.Module, call: Mapping[str, Any]) -> dict[str, Tensor]:
    out = model(**call)
    return {role: getattr(out, _OUTPUTS[role]) for role in call}


def _assemble(per_call: list[dict[str, Tensor]], orders: Mapping[str, Tensor]) -> dict[str, Tensor | None]:
    out: dict[str, Tensor | None] = dict.fromkeys(ROLES)
    for role, order in orders.items():
        out[role] = restore_order([emb[role] for emb in per_call if role in emb], order)
    return out


def chunked_embeddings(model: nn.Module, inputs: Mapping[str, Any], size: int, sort_by_length: bool = False,
                       padding_side: str = "right") -> tuple[Tensor, Tensor, Tensor | None]:
    """Query, passage and negative embeddings in batch order, encoded chunk by chunk with one graph."""
    calls, orders = plan_calls(inputs, size, sort_by_length, padding_side)
    emb = _assemble([_embed(model, call) for call in calls], orders)
    return emb["query"], emb["passage"], emb["negatives"]


def grad_cache_step(
    model: nn.Module,
    inputs: Mapping[str, Any],
    loss_fn: nn.Module,
    *,
    size: int,
    sort_by_length: bool = False,
    padding_side: str = "right",
    scale: Callable[[Tensor], Tensor] = lambda loss: loss,
    backward: Callable[[Tensor], None] = lambda loss: loss.backward(),
    no_sync: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
    forward_context: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
) -> Tensor:
    """One GradCache forward/backward of ``inputs``; parameter gradients are accumulated into ``.grad``.

    Args:
        model: what the plain step calls (the DDP / accelerate-wrapped model: autocast applies as usual).
        loss_fn: the loss of the embeddings (``InfoNCELoss``).
        size / sort_by_length / padding_side: the chunks (:mod:`hf_hybrid.training.chunking`).
        scale: the loss as the plain step back-propagates it (gradient accumulation), e.g. ``loss / ga``.
        backward: back-propagation of the scaled loss (``accelerator.backward``: loss scaling for fp16).
        no_sync: the context that suspends DDP's gradient all-reduce (``accelerator.no_sync(model)``); every
            re-encoding but the last runs in it.
        forward_context: the context of every forward pass and of the loss (the Trainer's
            ``compute_loss_context_manager``: autocast where the Trainer adds one); backward passes run outside it.

    Returns the detached scaled loss: the value the plain step returns.
    """
    calls, orders = plan_calls(inputs, size, sort_by_length, padding_side)
    states: list[RngState] = []
    cached: list[dict[str, Tensor]] = []
    with torch.no_grad(), forward_context():
        for call in calls:
            states.append(RngState(call))
            cached.append({role: emb.detach().requires_grad_() for role, emb in _embed(model, call).items()})
    after = RngState(calls[-1])  # where the RNG stands after the step, as if each chunk ran once

    emb = _assemble(cached, orders)
    with forward_context():
        loss = scale(loss_fn(emb["query"], emb["passage"], emb["negatives"], group_ids=inputs.get("group_ids")))
    backward(loss)

    for i, (call, state, leaves) in enumerate(zip(calls, states, cached)):
        with no_sync() if i < len(calls) - 1 else contextlib.nullcontext():
            state.restore()
            with forward_context():
                out = _embed(model, call)
            roles = [role for role in out if leaves[role].grad is not None]
            if roles:
                torch.autograd.backward([out[r] for r in roles], [leaves[r].grad.to(out[r].dtype) for r in roles])
    after.restore()
    return loss.detach()
