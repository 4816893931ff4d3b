"""Issue 16: the Hub token never lands in a file that could be shared, ``training_args.bin`` included.

``training_args.bin`` is a pickle of the ``TrainingArguments``; with ``hub_token`` set, saving them as they are
writes the token in clear text into every checkpoint. The trainer saves them without it (the live arguments
keep it, so pushes still authenticate), and nothing else it writes holds the token either.
"""

from __future__ import annotations

from pathlib import Path

from hub_fixtures import TOKEN
from tiny import make_tiny_encoder


def test_hub_token_is_in_no_saved_file(tmp_path, xquad_sample):
    import torch

    from hf_hybrid.data import load_lareqa
    from hf_hybrid.modeling import DualEncoder, InfoNCELoss
    from hf_hybrid.training.arguments import HybridTrainingArguments
    from hf_hybrid.training.trainer import DualEncoderTrainer

    train = load_lareqa(xquad_sample, languages=["en", "de"])
    enc = make_tiny_encoder(tmp_path / "enc", list(train["query"])[:50] + list(train["positive"])[:50])
    model = DualEncoder.from_pretrained(str(enc), query_max_length=16, passage_max_length=16)
    out = tmp_path / "run"
    args = HybridTrainingArguments(
        output_dir=str(out), per_device_train_batch_size=8, max_steps=2, learning_rate=1e-3, save_strategy="steps",
        save_steps=2, logging_steps=1, report_to=[], seed=0, use_cpu=True, disable_tqdm=True,
        hub_token=TOKEN, hub_model_id="org/never-pushed", strategy="hybrid", alpha=0.5)
    trainer = DualEncoderTrainer(model=model, args=args, train_dataset=train, loss=InfoNCELoss(0.05))
    trainer.train()
    trainer.save_model(str(out))

    saved = sorted(p for p in out.rglob("*") if p.is_file())
    pickles = [p for p in saved if p.name == "training_args.bin"]
    assert {p.parent for p in pickles} == {out, out / "checkpoint-2"}  # the file is still written...
    for path in pickles:
        reloaded = torch.load(path, weights_only=False)
        assert reloaded.hub_token is None and reloaded.hub_model_id == "org/never-pushed"  # ...without the token
    for path in saved:
        assert TOKEN.encode() not in path.read_bytes(), Path(path).relative_to(out)
    assert trainer.args.hub_token == TOKEN  # the live arguments keep it: pushes still authenticate
