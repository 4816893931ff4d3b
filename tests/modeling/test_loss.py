"""InfoNCE: exact values, hard negatives, symmetric term, temperature, and 2-process gloo equivalence."""

from __future__ import annotations

import math

import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from gloo_loss_worker import SIZES, _data, _grads, _Tower, _worker
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
    }
    loss = InfoNCELoss(0.07, learnable_temperature=True, symmetric=True)
    assert loss.get_config_dict() == {
        "name": "InfoNCELoss", "temperature": 0.07, "learnable_temperature": True, "symmetric": True,
        "learned_temperature": 0.07,
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
