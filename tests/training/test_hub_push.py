"""Pushing from inside training (hf_hybrid.training.hub_push): DualEncoderTrainer with --push_to_hub.

Against the local Hub-compatible server of tests/hub_server.py: each checkpoint is pushed after its atomic
rename, in one commit with our card, without the pickled TrainingArguments (they hold hub_token) and without
the resume states (optimizer, scheduler, RNG...) unless asked (tests/reliability/test_hub_checkpoint_strategy.py).
"""

from __future__ import annotations

import logging

import numpy as np
from hub_fixtures import TEXTS, TOKEN, embed_st, hub_server, yaml_header  # noqa: F401 - fixtures
from tiny import make_tiny_encoder


def test_trainer_pushes_during_training_with_card(hub_server, tmp_path, monkeypatch, xquad_sample, caplog):
    from hf_hybrid.data import RetrievalPool, load_lareqa, split_by_article
    from hf_hybrid.modeling import DualEncoder, InfoNCELoss
    from hf_hybrid.training.arguments import HybridTrainingArguments
    from hf_hybrid.training.trainer import DualEncoderTrainer

    hub_server.require_token = TOKEN
    monkeypatch.delenv("HF_TOKEN", raising=False)
    ds = load_lareqa(xquad_sample, languages=["en", "de"])
    train, test = split_by_article(ds, test_size=1, seed=0)
    enc = make_tiny_encoder(tmp_path / "enc", list(train["query"]) + list(train["positive"]))
    model = DualEncoder.from_pretrained(str(enc), query_max_length=24, passage_max_length=32)
    args = HybridTrainingArguments(
        output_dir=str(tmp_path / "run"), per_device_train_batch_size=8, max_steps=4, learning_rate=1e-3,
        save_strategy="steps", save_steps=2, eval_strategy="steps", eval_steps=2, logging_steps=1,
        report_to=[], seed=0, use_cpu=True, disable_tqdm=True, push_to_hub=True, hub_model_id="org/trained",
        hub_strategy="checkpoint", hub_token=TOKEN, hub_private_repo=True, strategy="hybrid", alpha=0.5)
    pool = RetrievalPool.from_pairs(test, name="xquad-r")
    trainer = DualEncoderTrainer(
        model=model, args=args, train_dataset=train, eval_pool=pool, eval_dataset=pool,
        loss=InfoNCELoss(0.05), base_model="bert-base-multilingual-cased")
    with caplog.at_level(logging.INFO):
        trainer.train()
        trainer._finish_current_push()

    titles = [c.title for c in hub_server.commits("org/trained")]
    assert "Training in progress, step 2" in titles and "Training in progress, step 4" in titles
    files = hub_server.files("org/trained")
    assert {"README.md", "model.safetensors", "modules.json", "last-checkpoint/model.safetensors"} <= set(files)
    assert not [name for name in files if name.endswith(("optimizer.pt", "scheduler.pt", "rng_state.pth"))]
    assert not any(name.endswith("training_args.bin") for name in files)  # pickled args hold hub_token
    for name, data in files.items():
        assert TOKEN.encode() not in data, name
    assert TOKEN not in caplog.text
    meta = yaml_header(files["README.md"].decode())
    assert meta["model-index"][0]["results"][0]["dataset"]["name"] == "xquad-r"
    assert "| sampler / strategy | hybrid |" in files["README.md"].decode()

    # the pushed model is the step-4 checkpoint, loadable by repo id with the token
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    local = DualEncoder.from_pretrained(str(tmp_path / "run" / "checkpoint-4")).encode_queries(TEXTS)
    np.testing.assert_allclose(embed_st("org/trained"), local, atol=1e-6)

    # end of training: push_to_hub publishes output_dir (the final model) with the card
    n = len(hub_server.commits("org/trained"))
    trainer.push_to_hub()
    assert len(hub_server.commits("org/trained")) in (n, n + 1)
    assert hub_server.commits("org/trained")[0].title in ("End of training", "Training in progress, step 4")
