"""Gradient caching and length-aware chunks: the same loss and gradients as the plain full-batch step.

Dropout is on in the tiny BERT (0.1): with one chunk per role GradCache runs the plain step's single forward
and must match it exactly; with several chunks the dropout masks are those of the chunked forward, and GradCache
must match the chunked forward with a graph (the RNG replay), and no longer does when the replay is switched off.
In eval mode (no dropout) every chunking matches the plain padded step.
"""

from __future__ import annotations

import json
import os
import sys

import pytest
import torch
import torch.multiprocessing as mp

from hf_hybrid.modeling import DualEncoder, InfoNCELoss, apply_lora
from hf_hybrid.training import DualEncoderTrainer, HybridTrainingArguments, PairCollator
from hf_hybrid.training import grad_cache as gc
from hf_hybrid.training.chunking import padding_fraction

sys.path.insert(0, os.path.dirname(__file__))
import gloo_grad_cache_worker as worker
from gloo_support import free_port

B = 8
TOL = dict(atol=1e-5, rtol=1e-5)



@pytest.fixture(scope="module")
def texts(data):
    train, _ = data
    return list(train["query"][:16]), list(train["positive"][:16]), list(train["positive"][16:32])


def _model(encoder_dir, lora=False):
    torch.manual_seed(0)
    model = DualEncoder.from_pretrained(str(encoder_dir), query_max_length=24, passage_max_length=32)
    if lora:
        apply_lora(model, r=4, dropout=0.1, verbose=False)
    return model


def _items(texts, n=B, negatives=True):
    q, p, neg = texts
    return [{"query": q[i], "positive": p[i], **({"negatives": [neg[i]]} if negatives else {})} for i in range(n)]


def _grads(model, loss_fn):
    out = {k: p.grad.detach().clone() for k, p in model.named_parameters() if p.grad is not None}
    if loss_fn.learnable_temperature:
        out["loss.log_temperature"] = loss_fn.log_temperature.grad.detach().clone()
    return out


def _zero(model, loss_fn):
    for p in list(model.parameters()) + list(loss_fn.parameters()):
        p.grad = None


def _plain(model, loss_fn, batch):
    torch.manual_seed(1)
    q, p, n = model(query=batch["query"], passage=batch["passage"], negatives=batch.get("negatives"))
    loss = loss_fn(q, p, n)
    loss.backward()
    return loss.detach(), _grads(model, loss_fn)


def _chunked(model, loss_fn, batch, size, sort):
    torch.manual_seed(1)
    loss = loss_fn(*gc.chunked_embeddings(model, batch, size, sort))
    loss.backward()
    return loss.detach(), _grads(model, loss_fn)


def _cached(model, loss_fn, batch, size, sort):
    torch.manual_seed(1)
    loss = gc.grad_cache_step(model, batch, loss_fn, size=size, sort_by_length=sort)
    return loss, _grads(model, loss_fn)


def _assert_same(a, b):
    torch.testing.assert_close(a[0], b[0], **TOL)
    assert a[1].keys() == b[1].keys() and a[1]
    for k in a[1]:
        torch.testing.assert_close(a[1][k], b[1][k], **TOL, msg=k)


def test_tiny_encoder_has_dropout(encoder_dir):
    config = _model(encoder_dir).config
    assert config.hidden_dropout_prob == 0.1 and config.attention_probs_dropout_prob == 0.1


@pytest.mark.parametrize("lora,negatives,learnable", [(False, True, True), (True, True, False), (False, False, False)])
def test_grad_cache_equals_the_plain_step(encoder_dir, texts, lora, negatives, learnable):
    model = _model(encoder_dir, lora)
    loss_fn = InfoNCELoss(0.05, learnable_temperature=learnable)
    padded = PairCollator(model)(_items(texts, negatives=negatives))
    model.train()  # dropout on: one chunk per role is the plain step's very forward
    plain = _plain(model, loss_fn, padded)
    _zero(model, loss_fn)
    _assert_same(_cached(model, loss_fn, padded, B, False), plain)
    _zero(model, loss_fn)
    # several chunks, dropout on: the chunked forward with a graph, replayed exactly
    for sort in (False, True):
        chunked = PairCollator(model, mini_batch_size=3, length_sorted_chunks=sort)(_items(texts, negatives=negatives))
        ref = _chunked(model, loss_fn, chunked, 3, sort)
        _zero(model, loss_fn)
        _assert_same(_cached(model, loss_fn, chunked, 3, sort), ref)
        _zero(model, loss_fn)
    # no dropout: every chunking is the plain padded step
    model.eval()
    plain = _plain(model, loss_fn, padded)
    _zero(model, loss_fn)
    for size, sort in ((3, False), (3, True), (1, True)):
        _assert_same(_cached(model, loss_fn, padded, size, sort), plain)  # a padded batch is cut into chunks
        _zero(model, loss_fn)


def test_without_the_rng_replay_dropout_differs(encoder_dir, texts, monkeypatch):
    model = _model(encoder_dir)
    loss_fn = InfoNCELoss(0.05)
    batch = PairCollator(model, mini_batch_size=3)(_items(texts))
    model.train()
    ref = _chunked(model, loss_fn, batch, 3, False)
    _zero(model, loss_fn)
    monkeypatch.setattr(gc.RngState, "restore", lambda self: None)
    _, got = _cached(model, loss_fn, batch, 3, False)
    assert any(not torch.allclose(got[k], ref[1][k], atol=1e-5) for k in got)


def test_length_sorted_chunks_equal_the_padded_batch(encoder_dir, texts):
    model = _model(encoder_dir)
    model.eval()
    loss_fn = InfoNCELoss(0.05)
    items = _items(texts, n=16)
    padded = PairCollator(model)(items)
    chunked = PairCollator(model, mini_batch_size=4, length_sorted_chunks=True)(items)
    for role in ("query", "passage", "negatives"):  # each chunk padded to its own longest, sorted longest first
        lengths = [int(c["attention_mask"].sum(1).max()) for c in chunked[role]["chunks"]]
        assert [c["input_ids"].shape[1] for c in chunked[role]["chunks"]] == lengths == sorted(lengths, reverse=True)
        assert sorted(chunked[role]["order"].tolist()) == list(range(16))
    assert padding_fraction([chunked[r] for r in ("query", "passage")]) < padding_fraction(
        [padded[r] for r in ("query", "passage")])
    q0, p0, n0 = model(query=padded["query"], passage=padded["passage"], negatives=padded["negatives"])
    q1, p1, n1 = gc.chunked_embeddings(model, chunked, 4, True)
    for a, b in ((q0, q1), (p0, p1), (n0, n1)):
        torch.testing.assert_close(a, b, **TOL)
    _zero(model, loss_fn)
    plain = _plain(model, loss_fn, padded)
    _zero(model, loss_fn)
    _assert_same(_chunked(model, loss_fn, chunked, 4, True), plain)


def test_arguments_are_checked_and_recorded(tmp_path):
    for bad in (0, -2, 2.5, True):
        with pytest.raises(ValueError, match="mini_batch_size"):
            HybridTrainingArguments(str(tmp_path), mini_batch_size=bad, report_to=[], use_cpu=True)
    with pytest.raises(ValueError, match="length_sorted_chunks=True needs mini_batch_size"):
        HybridTrainingArguments(str(tmp_path), length_sorted_chunks=True, report_to=[], use_cpu=True)
    with pytest.raises(ValueError, match="cache_gradients=False has no effect"):
        HybridTrainingArguments(str(tmp_path), cache_gradients=False, report_to=[], use_cpu=True)
    from transformers import HfArgumentParser

    (args,) = HfArgumentParser(HybridTrainingArguments).parse_args_into_dataclasses(
        ["--output_dir", str(tmp_path), "--mini_batch_size", "4", "--length_sorted_chunks", "--report_to", "none"])
    assert (args.mini_batch_size, args.cache_gradients, args.length_sorted_chunks) == (4, True, True)


def _trainer(encoder_dir, train, out, max_steps=6, save_steps=3, learnable=False, **kw):
    model = DualEncoder.from_pretrained(str(encoder_dir), query_max_length=24, passage_max_length=32)
    args = HybridTrainingArguments(
        output_dir=str(out), per_device_train_batch_size=8, max_steps=max_steps, learning_rate=1e-3,
        save_strategy="steps", save_steps=save_steps, logging_steps=1, report_to=[], seed=7,
        use_cpu=True, disable_tqdm=True, strategy="hybrid", alpha=0.5, **kw)
    return DualEncoderTrainer(model=model, args=args, train_dataset=train,
                              loss=InfoNCELoss(0.05, learnable_temperature=learnable))


def _weights(trainer):
    out = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    out["loss.log_temperature"] = trainer.loss_fn.log_temperature.detach().clone()
    return out


# A learnable temperature is not in checkpoints (it lives in the loss), so the resume tests keep it fixed.


def _assert_weights(a, b, atol):
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=atol, rtol=0, msg=k)


@pytest.mark.parametrize("bf16", [False, True])
def test_trainer_one_chunk_per_role_trains_exactly_as_the_plain_step(tmp_path, encoder_dir, data, bf16):
    """Dropout on, gradient accumulation 2, autocast (bf16): GradCache with mini_batch_size == batch is the plain run."""
    train, _ = data
    plain = _trainer(encoder_dir, train, tmp_path / "plain", max_steps=2, save_steps=10, learnable=True,
                     gradient_accumulation_steps=2, bf16=bf16)
    plain.train()
    cached = _trainer(encoder_dir, train, tmp_path / "cached", max_steps=2, save_steps=10, learnable=True,
                      gradient_accumulation_steps=2, bf16=bf16, mini_batch_size=8)
    cached.train()
    _assert_weights(_weights(plain), _weights(cached), 1e-5)
    losses = [[h["loss"] for h in t.state.log_history if "loss" in h] for t in (plain, cached)]
    assert losses[0] == pytest.approx(losses[1], abs=1e-5)


@pytest.mark.parametrize("cache", [True, False])
def test_resume_gives_identical_weights(tmp_path, encoder_dir, data, cache):
    train, _ = data
    kw = dict(mini_batch_size=3, length_sorted_chunks=True, cache_gradients=cache)
    straight = _trainer(encoder_dir, train, tmp_path / "a", **kw)
    straight.train()
    resumed = _trainer(encoder_dir, train, tmp_path / "b", **kw)
    resumed.train(resume_from_checkpoint=str(tmp_path / "a" / "checkpoint-3"))
    _assert_weights(_weights(straight), _weights(resumed), 1e-6)
    straight.save_model(str(tmp_path / "final"))
    record = json.loads((tmp_path / "final" / "hf_hybrid_training.json").read_text())
    assert {k: record["training"][k] for k in ("mini_batch_size", "cache_gradients", "length_sorted_chunks")} == {
        "mini_batch_size": 3, "cache_gradients": cache, "length_sorted_chunks": True}


@pytest.mark.parametrize("separate_towers", [False, True])
def test_two_processes_grad_cache_equals_the_gathered_full_batch(tmp_path, encoder_dir, texts, separate_towers):
    """Cross-rank negatives, unequal rank batches, length-sorted chunks of 2; with two towers, the last
    (synchronising) re-encoding must still reduce both towers' gradients."""
    n = sum(worker.SIZES)
    texts = tuple(t[:n] for t in texts)
    out = tmp_path / "rank0.pt"
    mp.spawn(worker._worker, args=(2, free_port(), str(encoder_dir), separate_towers, texts, str(out)), nprocs=2, join=True)
    got = torch.load(out)

    model, loss_fn = worker.build(encoder_dir, separate_towers)
    batch = PairCollator(model)(worker.items(*texts))
    q, p, neg = model(query=batch["query"], passage=batch["passage"], negatives=batch["negatives"])
    ref = loss_fn(q, p, neg)
    ref.backward()
    assert got["losses"].mean().item() == pytest.approx(ref.item(), abs=1e-5)
    expected = worker.grads(model, loss_fn)
    assert got["grads"].keys() == expected.keys()
    for k, g in expected.items():
        torch.testing.assert_close(got["grads"][k], g, **TOL, msg=k)


def test_group_ids_reach_the_loss_in_the_cached_step(encoder_dir, texts):
    """x-multi batches through GradCache: the same multi-positive loss and gradients as the plain step."""
    model = _model(encoder_dir)
    loss_fn = InfoNCELoss(0.05)
    items = [{**item, "group_id": f"g{i // 2}"} for i, item in enumerate(_items(texts))]  # 4 groups x 2 rows
    padded = PairCollator(model)(items)
    assert padded["group_ids"].tolist()[::2] == padded["group_ids"].tolist()[1::2]
    model.eval()
    torch.manual_seed(1)
    q, p, n = model(query=padded["query"], passage=padded["passage"], negatives=padded["negatives"])
    loss = loss_fn(q, p, n, group_ids=padded["group_ids"])
    loss.backward()
    plain = (loss.detach(), _grads(model, loss_fn))
    assert loss.item() != pytest.approx(loss_fn(q, p, n).item(), abs=1e-3)  # the ids do change the loss
    _zero(model, loss_fn)
    _assert_same(_cached(model, loss_fn, PairCollator(model, mini_batch_size=3)(items), 3, False), plain)
