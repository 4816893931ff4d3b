"""DualEncoderTrainer: typed sampler arguments, atomic checkpoints, exact resume, the training record."""

from __future__ import annotations

import json

import pytest
import torch

from hf_hybrid.data import RetrievalPool
from hf_hybrid.modeling import DualEncoder, InfoNCELoss
from hf_hybrid.training import DualEncoderTrainer, HybridTrainingArguments



def _trainer(encoder_dir, train, out, max_steps=6, save_steps=3, pool=None, **kw):
    model = DualEncoder.from_pretrained(str(encoder_dir), query_max_length=24, passage_max_length=32)
    args = HybridTrainingArguments(
        output_dir=str(out), per_device_train_batch_size=8, max_steps=max_steps, learning_rate=1e-3,
        save_strategy="steps", save_steps=save_steps, logging_steps=1, report_to=[], seed=7,
        use_cpu=True, disable_tqdm=True, strategy="hybrid", alpha=0.5, **kw)
    return DualEncoderTrainer(model=model, args=args, train_dataset=train, eval_pool=pool, loss=InfoNCELoss(0.05))


def _weights(trainer):
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


def test_resume_gives_identical_weights(tmp_path, encoder_dir, data):
    train, _ = data
    straight = _trainer(encoder_dir, train, tmp_path / "a")
    straight.train()
    ckpt = tmp_path / "a" / "checkpoint-3"
    assert ckpt.is_dir() and (ckpt / "sampler_state.json").is_file()
    assert not list((tmp_path / "a").glob(".staging-*"))
    resumed = _trainer(encoder_dir, train, tmp_path / "b")
    resumed.train(resume_from_checkpoint=str(ckpt))
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-6, rtol=0, msg=k)
    # and training did change the weights
    init = DualEncoder.from_pretrained(str(encoder_dir)).state_dict()
    assert any(not torch.equal(init[k], a[k]) for k in a if k in init)
    assert sum(straight.batch_kinds.values()) == 6


def test_checkpoint_loads_in_sentence_transformers(tmp_path, encoder_dir, data):
    from sentence_transformers import SentenceTransformer

    train, test = data
    trainer = _trainer(encoder_dir, train, tmp_path / "run", max_steps=2, save_steps=2,
                       pool=RetrievalPool.from_pairs(test))
    trainer.train()
    metrics = trainer.evaluate()
    assert 0.0 < metrics["eval_pool_map"] <= 1.0
    trainer.save_model(str(tmp_path / "final"))
    texts = ["Wer?", "Who won the game?"]
    ours = DualEncoder.from_pretrained(str(tmp_path / "final")).encode_queries(texts)
    theirs = SentenceTransformer(str(tmp_path / "final"), device="cpu").encode_query(texts)
    assert abs(ours - theirs).max() < 1e-5
    assert (tmp_path / "final" / "hf_hybrid_training.json").is_file()


def test_crash_during_checkpoint_leaves_no_complete_looking_folder(tmp_path, encoder_dir, data, monkeypatch):
    train, _ = data
    trainer = _trainer(encoder_dir, train, tmp_path / "run", max_steps=2, save_steps=2)

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(trainer, "_save_optimizer_and_scheduler", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        trainer.train()
    assert not (tmp_path / "run" / "checkpoint-2").exists()
    from transformers.trainer_utils import get_last_checkpoint

    assert get_last_checkpoint(str(tmp_path / "run")) is None


def test_linear_alpha_schedule_spans_all_epochs(tmp_path, encoder_dir, data):
    train, _ = data
    model = DualEncoder.from_pretrained(str(encoder_dir), query_max_length=24, passage_max_length=32)
    args = HybridTrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=8, num_train_epochs=2,
                                   report_to=[], use_cpu=True, gradient_accumulation_steps=2, strategy="hybrid",
                                   alpha=1.0, alpha_schedule="linear", alpha_end=0.0)
    trainer = DualEncoderTrainer(model=model, args=args, train_dataset=train)
    sampler = trainer.build_sampler()
    total = 2 * sampler.steps_per_epoch
    assert sampler.current_alpha(0) == pytest.approx(1.0)
    assert sampler.current_alpha(total) == pytest.approx(0.0)
    assert sampler.current_alpha(total // 2) == pytest.approx(0.5, abs=0.05)


def test_plain_training_arguments_get_the_default_sampling_settings(tmp_path, encoder_dir, data):
    from transformers import TrainingArguments

    train, _ = data
    model = DualEncoder.from_pretrained(str(encoder_dir))
    args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=8, report_to=[], use_cpu=True)
    trainer = DualEncoderTrainer(model=model, args=args, train_dataset=train)
    assert isinstance(trainer.args, HybridTrainingArguments)
    config = trainer.build_sampler().get_config_dict()
    assert (config["strategy"], config["alpha"], config["alpha_schedule"]) == ("hybrid", 0.5, "constant")


def test_training_record_is_built_from_every_component(tmp_path, encoder_dir, data):
    train, _ = data
    trainer = _trainer(encoder_dir, train, tmp_path / "run", max_steps=2, save_steps=2,
                       language_weights="temperature", language_temperature=2.0)
    trainer.train()
    trainer.save_model(str(tmp_path / "final"))
    record = json.loads((tmp_path / "final" / "hf_hybrid_training.json").read_text())
    assert set(record) == {"base_model", "languages", "data", "model", "sampler", "loss", "training",
                           "format_version", "hf_hybrid_version"}
    assert record["sampler"] == json.loads(json.dumps(trainer.build_sampler().get_config_dict()))
    assert record["sampler"]["language_weights"] == "temperature"
    assert record["sampler"]["language_temperature"] == 2.0
    assert record["loss"] == InfoNCELoss(0.05).get_config_dict()
    assert record["model"] == trainer.model.get_config_dict()
    assert record["model"]["query_max_length"] == 24 and record["model"]["lora"] is None
    assert record["training"]["global_step"] == 2 and record["training"]["num_processes"] == 1
    assert record["training"]["learning_rate"] == 1e-3 and record["training"]["seed"] == 7
    assert record["languages"] == ["de", "en", "zh"]


def test_x_multi_with_language_negatives_trains_and_is_recorded(tmp_path, encoder_dir, data):
    """Every step: 4 groups x 2 languages, one negative in the query's language per row, group ids to the loss."""
    train, _ = data
    model = DualEncoder.from_pretrained(str(encoder_dir), query_max_length=24, passage_max_length=32)
    args = HybridTrainingArguments(
        output_dir=str(tmp_path / "run"), per_device_train_batch_size=8, max_steps=2, learning_rate=1e-3,
        save_strategy="no", report_to=[], seed=7, use_cpu=True, disable_tqdm=True, strategy="x-multi",
        languages_per_group=2, language_negatives=1, language_negatives_from="any")
    loss = InfoNCELoss(0.05, multi_positive="sum")
    trainer = DualEncoderTrainer(model=model, args=args, train_dataset=train, loss=loss)
    seen = []
    forward = loss.forward

    def spy(q, p, n=None, group_ids=None):
        seen.append((q.shape[0], None if n is None else n.shape[0], group_ids.tolist()))
        return forward(q, p, n, group_ids=group_ids)

    loss.forward = spy
    trainer.train()
    assert len(seen) == 2 and trainer.batch_kinds == {"multi": 2}
    for rows, negatives, ids in seen:
        assert (rows, negatives) == (8, 8)  # every x-multi row (m = 2) is cross-lingual: k = 1 each
        assert ids[::2] == ids[1::2] and len(set(ids)) == 4  # a group's two rows side by side
    record = trainer.training_record().to_dict()
    assert {k: record["sampler"][k] for k in ("strategy", "languages_per_group", "language_negatives",
                                              "language_negatives_from")} == {
        "strategy": "x-multi", "languages_per_group": 2, "language_negatives": 1, "language_negatives_from": "any"}
    assert record["loss"]["multi_positive"] == "sum"
