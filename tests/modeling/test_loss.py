"""InfoNCE: exact values, hard negatives, symmetric term, temperature, multi-positive forms, and 2-process gloo
equivalence (single- and multi-positive)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from gloo_loss_worker import GROUPS, SIZES, _data, _grads, _Tower, _variants_worker, _worker
from gloo_support import free_port
from torch import nn

from hf_hybrid.modeling import InfoNCELoss


def _emb(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(*shape, generator=g), dim=-1)


def _reference(q, p, n=None, t=0.05, symmetric=False):
    """Mean over queries of -log softmax(q_i . c / t)[i], written with explicit loops."""
    cands = p if n is None else torch.cat([p, n.reshape(-1, q.shape[1])])
    total = 0.0
    for i in range(q.shape[0]):
        s = [float(q[i] @ c) / t for c in cands]
        total += -(s[i] - math.log(sum(math.exp(x) for x in s)))
    loss = total / q.shape[0]
    if symmetric:
        back = 0.0
        for i in range(p.shape[0]):
            s = [float(p[i] @ c) / t for c in q]
            back += -(s[i] - math.log(sum(math.exp(x) for x in s)))
        loss = 0.5 * (loss + back / p.shape[0])
    return loss


def test_in_batch_value():
    q, p = _emb(4, 8, seed=1), _emb(4, 8, seed=2)
    assert InfoNCELoss(0.05)(q, p).item() == pytest.approx(_reference(q, p), rel=1e-5)


def test_hard_negatives_are_extra_candidates_for_every_query():
    q, p, n = _emb(3, 8, seed=1), _emb(3, 8, seed=2), _emb(3, 2, 8, seed=3)
    loss = InfoNCELoss(0.1)
    assert loss(q, p, n).item() == pytest.approx(_reference(q, p, n, t=0.1), rel=1e-5)
    assert loss(q, p, n.reshape(6, 8)).item() == pytest.approx(loss(q, p, n).item(), rel=1e-6)
    assert loss(q, p, n).item() > loss(q, p).item()  # more negatives, larger loss


def test_symmetric_term():
    q, p = _emb(5, 8, seed=4), _emb(5, 8, seed=5)
    assert InfoNCELoss(0.05, symmetric=True)(q, p).item() == pytest.approx(_reference(q, p, symmetric=True), rel=1e-5)


def test_learnable_temperature_gets_gradient_and_is_clamped():
    loss = InfoNCELoss(0.05, learnable_temperature=True)
    assert isinstance(loss.log_temperature, nn.Parameter)
    assert loss.temperature == pytest.approx(0.05) and isinstance(loss.temperature, float)
    loss(_emb(4, 8, seed=1), _emb(4, 8, seed=2)).backward()
    assert loss.log_temperature.grad is not None and loss.log_temperature.grad.abs() > 0
    with torch.no_grad():
        loss.log_temperature.fill_(math.log(1e-6))
    assert loss.temperature == pytest.approx(1e-3)
    fixed = InfoNCELoss(0.05)
    assert not list(fixed.parameters()) and "log_temperature" not in fixed.state_dict()


def test_get_config_dict():
    assert InfoNCELoss().get_config_dict() == {
        "name": "InfoNCELoss", "temperature": 0.05, "learnable_temperature": False, "symmetric": False,
        "multi_positive": "mean",
    }
    loss = InfoNCELoss(0.07, learnable_temperature=True, symmetric=True, multi_positive="sum")
    assert loss.get_config_dict() == {
        "name": "InfoNCELoss", "temperature": 0.07, "learnable_temperature": True, "symmetric": True,
        "multi_positive": "sum", "learned_temperature": 0.07,
    }
    with torch.no_grad():  # a learnable temperature: the configured value and the one trained so far
        loss.log_temperature.fill_(math.log(0.02))
    assert loss.get_config_dict()["temperature"] == 0.07
    assert loss.get_config_dict()["learned_temperature"] == 0.02


def test_bad_inputs():
    with pytest.raises(ValueError, match="temperature=0 must be in"):
        InfoNCELoss(0)
    with pytest.raises(ValueError, match="same shape"):
        InfoNCELoss()(_emb(3, 8), _emb(2, 8))
    with pytest.raises(ValueError, match=r"negative_emb must be \[B, K, H\] or \[M, H\] with H=8"):
        InfoNCELoss()(_emb(3, 8), _emb(3, 8), _emb(3, 4))
    with pytest.raises(ValueError, match=r"multi_positive='max' must be one of \['mean', 'sum'\]"):
        InfoNCELoss(multi_positive="max")
    with pytest.raises(ValueError, match=r"group_ids must be \[B\] = \[3\] \(one group id per pair\), got \(2,\)"):
        InfoNCELoss()(_emb(3, 8), _emb(3, 8), group_ids=torch.tensor([1, 2]))


# --- multi-positive --------------------------------------------------------------------------------


def _multi_reference(q, p, groups, form, n=None, t=0.05, symmetric=False):
    """The module docstring's L_i, averaged over queries, with explicit loops (positives: same group)."""
    def direction(a, b, b_groups, extra):
        total = 0.0
        for i in range(a.shape[0]):
            s = [float(a[i] @ c) / t for c in list(b) + list(extra)]
            log_z = math.log(sum(math.exp(x) for x in s))
            pos = [j for j in range(b.shape[0]) if b_groups[j] == groups[i]]
            if form == "mean":
                total += -sum(s[j] - log_z for j in pos) / len(pos)
            else:
                total += -(math.log(sum(math.exp(s[j]) for j in pos)) - log_z)
        return total / a.shape[0]

    extra = [] if n is None else list(n.reshape(-1, q.shape[1]))
    loss = direction(q, p, groups, extra)
    return 0.5 * (loss + direction(p, q, groups, [])) if symmetric else loss


@pytest.mark.parametrize("form", ["mean", "sum"])
@pytest.mark.parametrize("symmetric", [False, True])
def test_multi_positive_values(form, symmetric):
    q, p, n = _emb(6, 8, seed=1), _emb(6, 8, seed=2), _emb(6, 2, 8, seed=3)
    groups = [4, 4, 9, 9, 9, 1]  # x-multi layout: each group's rows together; group 1 occurs once
    loss = InfoNCELoss(0.05, symmetric=symmetric, multi_positive=form)
    got = loss(q, p, n, group_ids=torch.tensor(groups)).item()
    assert got == pytest.approx(_multi_reference(q, p, groups, form, n, symmetric=symmetric), rel=1e-5)
    # the forms differ once a group has several positives, and both differ from single-positive InfoNCE
    assert got != pytest.approx(loss(q, p, n).item(), rel=1e-3)


def test_mean_form_asks_every_translation_to_score_high():
    """Two positives, one scored high and one low: sum is content, mean is not (why mean is the default)."""
    q = torch.tensor([[1.0, 0.0]])
    p = torch.tensor([[1.0, 0.0]])  # its own passage: a perfect match
    other = torch.tensor([[0.0, 1.0]])  # the same group's other translation: orthogonal
    emb_p = torch.cat([p, other])
    # query 0 with positives {0, 1}; a dummy second query (its own group) keeps the shapes square
    q2 = torch.cat([q, torch.tensor([[0.0, -1.0]])])
    ids = torch.tensor([3, 3])
    mean = InfoNCELoss(0.1, multi_positive="mean")(q2, emb_p, group_ids=ids).item()
    total = InfoNCELoss(0.1, multi_positive="sum")(q2, emb_p, group_ids=ids).item()
    assert total < 0.05 < math.log(2) < mean  # sum ~ 0 once the mass is on positives; mean >= log |P|


@pytest.mark.parametrize("form", ["mean", "sum"])
@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("learnable", [False, True])
def test_every_group_once_is_exactly_single_positive_infonce(form, symmetric, learnable):
    """m = 1: the multi-positive path gives bit-identical values and gradients (embeddings and temperature)."""
    for b, k in [(1, 0), (5, 2), (33, 1)]:
        q = _emb(b, 16, seed=b).requires_grad_()
        p = _emb(b, 16, seed=b + 1).requires_grad_()
        n = _emb(b, k, 16, seed=b + 2).requires_grad_() if k else None
        leaves = [q, p] + ([n] if k else [])
        plain = InfoNCELoss(0.05, learnable_temperature=learnable, symmetric=symmetric, multi_positive=form)
        multi = InfoNCELoss(0.05, learnable_temperature=learnable, symmetric=symmetric, multi_positive=form)
        a = plain(q, p, n)
        c = multi(q, p, n, group_ids=torch.arange(b) * 1000003 - 7)
        grads_a = torch.autograd.grad(a, leaves + list(plain.parameters()))
        grads_c = torch.autograd.grad(c, leaves + list(multi.parameters()))
        assert torch.equal(a, c), (b, k)
        assert all(torch.equal(x, y) for x, y in zip(grads_a, grads_c)), (b, k)


# --- two real processes (gloo) ---------------------------------------------------------------------


@pytest.mark.parametrize("sizes,symmetric", [((3, 3), False), (SIZES, True)])
def test_two_processes_equal_one_process_on_the_global_batch(tmp_path, sizes, symmetric):
    out = tmp_path / "rank0.pt"
    mp.spawn(_worker, args=(2, free_port(), sizes, symmetric, str(out)), nprocs=2, join=True)
    got = torch.load(out)

    single = _Tower(symmetric)
    xq, xp, xn = _data(sizes)
    ref = single(xq, xp, xn)
    ref.backward()
    # W / N scaling: the mean of the per-rank losses is the global mean loss
    assert got["losses"].mean().item() == pytest.approx(ref.item(), abs=1e-5)
    for name, g in _grads(single).items():
        torch.testing.assert_close(got["grads"][name], g, atol=1e-5, rtol=1e-5, msg=name)


@pytest.mark.parametrize("form", ["mean", "sum"])
def test_two_processes_multi_positive(tmp_path, form):
    """Under DDP (gloo, unequal batches, symmetric, hard negatives): group ids that are all distinct give exactly
    the single-positive losses and gradients; groups spanning both ranks equal one process on the global batch."""
    out = tmp_path / "rank0.pt"
    mp.spawn(_variants_worker, args=(2, free_port(), SIZES, form, str(out)), nprocs=2, join=True)
    got = torch.load(out)
    plain, distinct, multi = got["none"], got["distinct"], got["multi"]
    assert torch.equal(plain["losses"], distinct["losses"])
    for name in plain["grads"]:
        assert torch.equal(plain["grads"][name], distinct["grads"][name]), name

    single = _Tower(True, multi_positive=form)
    xq, xp, xn = _data(SIZES)
    ref = single(xq, xp, xn, torch.tensor(GROUPS))
    ref.backward()
    assert multi["losses"].mean().item() == pytest.approx(ref.item(), abs=1e-5)
    assert multi["losses"].mean().item() != pytest.approx(plain["losses"].mean().item(), abs=1e-3)
    for name, g in _grads(single).items():
        torch.testing.assert_close(multi["grads"][name], g, atol=1e-5, rtol=1e-5, msg=name)
