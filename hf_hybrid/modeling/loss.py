"""InfoNCE with in-batch (and cross-process) negatives.

Why by hand: sentence-transformers' ``MultipleNegativesRankingLoss`` works on its own model class and
gathers across devices only as an option tied to its trainer; here the loss must take the embeddings of
our :class:`~hf_hybrid.modeling.DualEncoder`, see the *global* batch that the hybrid sampler built
(``docs/design.md`` section 2: the W x B pairs of one step are duplicate-free and share one batch kind),
and give exactly the single-process gradients under DDP. It is a few lines of well-tested arithmetic.

Distributed semantics (``docs/design.md`` section 5; W processes, rank r holds B_r pairs, N = sum of B_r):

* the query, passage and hard-negative embeddings of all ranks are gathered **with gradients**
  (``torch.distributed.nn.functional.all_gather`` is differentiable; ``accelerate``'s ``gather`` and
  ``torch.distributed.all_gather`` are not: with them the other ranks' rows would be constants and the
  gradients would be wrong);
* rank r scores its own queries against every candidate of the global batch; the label of its i-th
  query is ``offset_r + i`` with ``offset_r = B_0 + ... + B_{r-1}`` (``r * B`` for equal batches);
* rank r returns ``loss_r = (W / N) * sum of its per-query cross-entropies``. The all_gather backward
  sums the gradients that every rank's loss sends to a rank's embeddings, so each rank's parameters
  receive ``d(sum_r loss_r)/d theta = W * dL/d theta`` through its own rows, where ``L`` is the mean
  cross-entropy over all N queries; DDP averages over the W ranks and ends with exactly ``dL/d theta``,
  the gradient of one process on the concatenated batch. With equal batches ``W / N = 1 / B``: loss_r
  is just the mean over the local queries, and the mean of the W logged losses is ``L``.

Multi-positive (``docs/design.md`` section 5). Given ``group_ids`` (one integer per pair, gathered across
processes like the embeddings), the positives of query ``i`` are ``P(i)`` = every gathered passage whose
group is ``i``'s (its own passage always among them); every other passage, and every hard negative, is a
negative. With ``s_ij = q_i . c_j / temperature`` over all candidates ``j``:

* ``multi_positive="mean"`` (default; SupCon's L_out, Khosla et al. 2020, arXiv 2004.11362):
  ``L_i = -(1 / |P(i)|) * sum_{p in P(i)} log( exp(s_ip) / sum_j exp(s_ij) )``;
* ``multi_positive="sum"`` (MIL-NCE, Miech et al. 2020, arXiv 1912.06430; SupCon's L_in up to the constant
  ``log |P(i)|``): ``L_i = -log( sum_{p in P(i)} exp(s_ip) / sum_j exp(s_ij) )``.

Why ``mean`` by default: the sum is already small when the positives *together* take the probability mass,
e.g. the translation in the query's own language alone; the mean is minimal only when *every* positive
scores high (each term wants its own positive first; the optimum scores the positives alike), i.e. when a
query finds its answer in every language equally well, the language-agnostic ranking that MaxRD measures.
Khosla et al. also found L_out to train better. Its minimum is ``log |P(i)|``, not 0: logged losses of
``x-multi`` runs are not comparable with single-positive runs. When every group occurs once (``|P(i)| = 1``)
both forms are exactly the single-positive InfoNCE (same values and gradients, tested). The symmetric
term uses the same positives: a passage's positives are the queries of its group.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

MIN_TEMPERATURE = 1e-3
MAX_TEMPERATURE = 1.0
#: How a query with several positives is scored (module docstring).
MULTI_POSITIVE_FORMS = ("mean", "sum")


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


def gather_with_grad(x: Tensor) -> tuple[Tensor, list[int]]:
    """Concatenate ``x`` ([n_r, ...]) from all ranks, differentiably; also return every n_r.

    Ranks may hold different numbers of rows (a last, short batch): rows are padded to the largest
    count for the collective and the padding is sliced away again.
    """
    world, _ = _world()
    if world == 1:
        return x, [x.shape[0]]
    from torch.distributed.nn.functional import all_gather

    n = torch.tensor([x.shape[0]], device=x.device, dtype=torch.long)
    sizes_t = [torch.zeros_like(n) for _ in range(world)]
    dist.all_gather(sizes_t, n)
    sizes = [int(s.item()) for s in sizes_t]
    longest = max(sizes)
    if x.shape[0] < longest:
        x = torch.cat([x, x.new_zeros((longest - x.shape[0], *x.shape[1:]))])
    parts = all_gather(x.contiguous())
    return torch.cat([p[:s] for p, s in zip(parts, sizes)]), sizes


def gather_ids(ids: Tensor, sizes: list[int]) -> Tensor:
    """Concatenate the ``sizes[r]`` integer ids of every rank (no gradient; ``sizes`` from the embeddings')."""
    longest = max(sizes)
    if ids.shape[0] < longest:
        ids = torch.cat([ids, ids.new_zeros(longest - ids.shape[0])])
    parts = [torch.empty_like(ids) for _ in sizes]
    dist.all_gather(parts, ids.contiguous())
    return torch.cat([p[:s] for p, s in zip(parts, sizes)])


def multi_positive_nll(logits: Tensor, positives: Tensor, form: str) -> Tensor:
    """Summed multi-positive negative log-likelihood of ``logits`` [b, C] with a boolean ``positives`` [b, C]
    (at least one per row): the ``mean`` or ``sum`` form of the module docstring. With one positive per row
    it equals ``F.cross_entropy(logits, labels, reduction="none").sum()`` bit for bit (values and gradients)."""
    log_p = F.log_softmax(logits, dim=-1)
    if form == "sum":
        return -torch.logsumexp(log_p.masked_fill(~positives, float("-inf")), dim=-1).sum()
    # masked_fill, not a product with 0/1 weights: a -inf logit (masking, fp16 overflow) would give 0 * -inf = NaN
    count = positives.sum(dim=-1).to(log_p.dtype)
    return -(log_p.masked_fill(~positives, 0.0).sum(dim=-1) / count).sum()


class InfoNCELoss(nn.Module):
    """Contrastive loss of queries against their passages, the other passages of the batch as negatives.

    Args:
        temperature: softmax temperature (similarities are divided by it); 0.05 suits cosine scores.
        learnable_temperature: learn it, parametrised as ``log(temperature)`` and clamped to
            ``[1e-3, 1]`` (``log_temperature`` is then a parameter: give it to the optimizer).
        symmetric: add the passage-to-query direction (each passage must pick its query among all
            queries) and average the two terms.
        gather_across_processes: under ``torch.distributed`` use the global batch as negatives (see
            module docstring for the gradient scaling). No effect in a single process.
        multi_positive: ``"mean"`` or ``"sum"``: how a query with several positives (``group_ids`` with a
            group more than once, ``x-multi`` batches) is scored; see the module docstring.

    ``forward(query_emb [B, H], passage_emb [B, H], negative_emb=None, group_ids=None)`` where
    ``negative_emb`` is ``[B, K, H]`` (K hard negatives per query) or ``[M, H]``; negatives are appended to
    the candidate matrix, so they act as extra negatives for *every* query. Every rank must pass negatives
    or none. ``group_ids`` ([B] integers, the collator's) turns on the multi-positive form; every rank must
    pass them or none.

    Example::

        loss = InfoNCELoss(temperature=0.05)
        value = loss(q, p, group_ids=torch.tensor([7, 7, 9, 9]))  # rows 0-1 and 2-3: one group each
    """

    def __init__(
        self,
        temperature: float = 0.05,
        learnable_temperature: bool = False,
        symmetric: bool = False,
        gather_across_processes: bool = True,
        multi_positive: str = "mean",
    ) -> None:
        super().__init__()
        if not MIN_TEMPERATURE <= float(temperature) <= MAX_TEMPERATURE:
            raise ValueError(f"temperature={temperature} must be in [{MIN_TEMPERATURE}, {MAX_TEMPERATURE}]")
        if multi_positive not in MULTI_POSITIVE_FORMS:
            raise ValueError(f"multi_positive={multi_positive!r} must be one of {list(MULTI_POSITIVE_FORMS)} (how a "
                             "query with several positives is scored: mean = SupCon L_out, sum = MIL-NCE).")
        log_t = torch.tensor(math.log(float(temperature)), dtype=torch.float32)
        if learnable_temperature:
            self.log_temperature = nn.Parameter(log_t)
        else:
            self.register_buffer("log_temperature", log_t, persistent=False)
        self.initial_temperature = float(temperature)
        self.learnable_temperature = learnable_temperature
        self.symmetric = symmetric
        self.gather_across_processes = gather_across_processes
        self.multi_positive = multi_positive

    @property
    def temperature(self) -> float:
        """Current temperature as a float (for logging)."""
        return float(self._temperature().detach())

    def get_config_dict(self) -> dict[str, Any]:
        """The loss settings as a JSON-ready dict (the ``loss`` section of the training record).

        ``temperature`` is the configured value; a learnable one also reports ``learned_temperature``,
        the value training has reached, to 6 significant digits (the float32 parameter would otherwise
        print 0.05 as 0.04999999701976776).
        """
        config: dict[str, Any] = {
            "name": type(self).__name__,
            "temperature": self.initial_temperature,
            "learnable_temperature": self.learnable_temperature,
            "symmetric": self.symmetric,
            "multi_positive": self.multi_positive,
        }
        if self.learnable_temperature:
            config["learned_temperature"] = float(f"{self.temperature:.6g}")
        return config

    def _nll(self, logits: Tensor, labels: Tensor, positives: Tensor | None) -> Tensor:
        """Summed cross-entropy of the labels, or the multi-positive form when positives are given (the
        candidate columns beyond them, the hard negatives, are never positive)."""
        if positives is None:  # per-row terms then one sum, as the multi-positive form reduces (bit-identical)
            return F.cross_entropy(logits, labels, reduction="none").sum()
        extra = logits.shape[1] - positives.shape[1]
        if extra:
            positives = torch.cat([positives, positives.new_zeros(positives.shape[0], extra)], dim=1)
        return multi_positive_nll(logits, positives, self.multi_positive)

    def _temperature(self) -> Tensor:
        return self.log_temperature.clamp(math.log(MIN_TEMPERATURE), math.log(MAX_TEMPERATURE)).exp()

    def forward(self, query_emb: Tensor, passage_emb: Tensor, negative_emb: Tensor | None = None,
                group_ids: Tensor | None = None) -> Tensor:
        if query_emb.ndim != 2 or passage_emb.shape != query_emb.shape:
            raise ValueError(
                f"query_emb and passage_emb must both be [B, H] with the same shape, got "
                f"{tuple(query_emb.shape)} and {tuple(passage_emb.shape)}"
            )
        if negative_emb is not None:
            if negative_emb.ndim == 3:
                negative_emb = negative_emb.reshape(-1, negative_emb.shape[-1])
            if negative_emb.ndim != 2 or negative_emb.shape[-1] != query_emb.shape[-1]:
                raise ValueError(
                    f"negative_emb must be [B, K, H] or [M, H] with H={query_emb.shape[-1]}, got {tuple(negative_emb.shape)}"
                )
        if group_ids is not None and tuple(group_ids.shape) != (query_emb.shape[0],):
            raise ValueError(f"group_ids must be [B] = [{query_emb.shape[0]}] (one group id per pair), got "
                             f"{tuple(group_ids.shape)}")
        world, rank = _world() if self.gather_across_processes else (1, 0)
        if world > 1:
            all_q, sizes = gather_with_grad(query_emb)
            all_p, _ = gather_with_grad(passage_emb)
            all_n = gather_with_grad(negative_emb)[0] if negative_emb is not None else None
        else:
            all_q, all_p, all_n, sizes = query_emb, passage_emb, negative_emb, [query_emb.shape[0]]
        offset = sum(sizes[:rank])
        total = sum(sizes)
        b = query_emb.shape[0]
        labels = torch.arange(offset, offset + b, device=query_emb.device)

        scale = 1.0 / self._temperature().to(query_emb.device)
        candidates = all_p if all_n is None else torch.cat([all_p, all_n])
        logits = (query_emb.float() @ candidates.float().T) * scale
        positives = None
        if group_ids is not None:  # every gathered passage (query) of the pair's group, its own always included
            group_ids = group_ids.to(query_emb.device)
            all_g = gather_ids(group_ids, sizes) if world > 1 else group_ids
            positives = group_ids[:, None] == all_g[None, :]
            positives[torch.arange(b, device=positives.device), labels] = True
        loss = self._nll(logits, labels, positives)
        if self.symmetric:
            logits_p = (passage_emb.float() @ all_q.float().T) * scale
            loss = 0.5 * (loss + self._nll(logits_p, labels, positives))
        # world / total == 1 / b for equal batches: the local mean. See the module docstring.
        return loss * (world / total)
