"""The whole train.py pipeline on the bundled sample: full and LoRA, schedules, the record and the card."""

from __future__ import annotations

import json

import pytest

from hf_hybrid.commands.train import main

TINY = ["--tiny_hidden_size", "32", "--tiny_vocab_size", "800", "--languages", "en", "de", "zh",
        "--test_articles", "3", "--query_max_length", "24", "--passage_max_length", "32",
        "--per_device_train_batch_size", "8", "--max_steps", "4", "--logging_steps", "2", "--report_to", "none",
        "--save_strategy", "no", "--use_cpu", "--disable_tqdm", "true"]


def test_full_pipeline_prints_table_and_saves_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    results = main(TINY + ["--output_dir", str(out)])
    printed = capsys.readouterr().out
    assert "| multilingual pool mAP |" in printed and f"model saved to {out}" in printed
    assert set(results["before"]) >= {"before_pool_map", "before_mono_map", "before_cross_map", "before_max_rd"}
    assert json.loads((out / "eval_results.json").read_text())["after"]["after_pool_map"] == \
        pytest.approx(results["after"]["after_pool_map"])
    for name in ("modules.json", "model.safetensors", "hf_hybrid_config.json", "hf_hybrid_training.json", "README.md"):
        assert (out / name).is_file(), name
    card = (out / "README.md").read_text()
    assert "model-index" in card and "2408.10536" in card
    # a rerun reuses the tiny encoder built for the same settings, a change of settings rebuilds it
    stamp = out / "tiny-encoder-init" / "tiny_settings.json"
    first = stamp.stat().st_mtime_ns
    main(TINY + ["--output_dir", str(out), "--eval_before_training", "false", "--overwrite_output_dir"])
    assert stamp.stat().st_mtime_ns == first
    main(TINY + ["--output_dir", str(out), "--tiny_vocab_size", "700", "--eval_before_training", "false",
                 "--overwrite_output_dir"])
    assert json.loads(stamp.read_text())["vocab_size"] == 700


def test_lora_pipeline_saves_adapter_and_merged_model(tmp_path, capsys):
    out = tmp_path / "lora"
    results = main(TINY + ["--output_dir", str(out), "--lora", "--lora_r", "4", "--merge_lora",
                           "--eval_before_training", "false"])
    assert (out / "adapter_config.json").is_file() and (out / "adapter_model.safetensors").is_file()
    assert (out / "merged" / "model.safetensors").is_file()
    assert "(LoRA adapter)" in capsys.readouterr().out
    record = json.loads((out / "hf_hybrid_training.json").read_text())
    assert record["model"]["lora"]["r"] == 4 and record["model"]["lora"]["lora_alpha"] == 16
    card = (out / "README.md").read_text()
    assert "| model / lora / r | 4 |" in card and "library_name: peft" in card
    from hf_hybrid.modeling import DualEncoder

    texts = ["Wer?", "Who won?"]
    a = DualEncoder.from_pretrained(str(out)).encode_queries(texts)
    b = DualEncoder.from_pretrained(results["merged_dir"]).encode_queries(texts)
    assert abs(a - b).max() < 1e-5


def _logged(printed: str, key: str) -> list[float]:
    """Values of ``key`` in the Trainer's printed log dicts."""
    import re

    return [float(v) for v in re.findall(rf"'{key}': '?([0-9.eE+-]+)'?", printed)]


def test_train_py_linear_alpha_schedule_from_the_command_line(tmp_path):
    """The issue-11 bug: `train.py ... --alpha_schedule linear --alpha_end 0.2` failed (alpha_start dropped)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "run"
    cmd = [sys.executable, str(root / "train.py"), str(root / "configs" / "ci_tiny.yaml"), "--output_dir", str(out),
           "--alpha_schedule", "linear", "--alpha_end", "0.2", "--max_steps", "4", "--logging_steps", "1",
           "--save_strategy", "no", "--eval_before_training", "false", "--use_cpu", "--disable_tqdm", "true"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(root)},
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    alphas = _logged(proc.stdout + proc.stderr, "alpha")
    assert len(alphas) == 4 and alphas == sorted(alphas, reverse=True)
    assert alphas[0] == pytest.approx(0.5) and alphas[-1] == pytest.approx(0.2)
    record = json.loads((out / "hf_hybrid_training.json").read_text())
    assert (record["sampler"]["alpha"], record["sampler"]["alpha_schedule"], record["sampler"]["alpha_end"]) == \
        (0.5, "linear", 0.2)
    card = (out / "README.md").read_text()
    assert "alpha_schedule" in card and "linear" in card and "alpha_end" in card


def test_linear_alpha_schedule_from_yaml(tmp_path, capsys):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("alpha: 1.0\nalpha_schedule: linear\nalpha_end: 0.0\nlogging_steps: 1\n")
    main([str(cfg), *TINY, "--output_dir", str(tmp_path / "run"), "--eval_before_training", "false",
          "--logging_steps", "1"])
    alphas = _logged(capsys.readouterr().out, "alpha")
    assert alphas == pytest.approx([1.0, 2 / 3, 1 / 3, 0.0], abs=1e-4)


def test_language_weighting_and_loss_temperature_are_recorded_and_on_the_card(tmp_path):
    out = tmp_path / "run"
    main(TINY + ["--output_dir", str(out), "--language_weights", "temperature", "--language_temperature", "2",
                 "--loss_temperature", "0.07", "--eval_before_training", "false"])
    record = json.loads((out / "hf_hybrid_training.json").read_text())
    assert record["sampler"]["language_weights"] == "temperature"
    assert record["sampler"]["language_temperature"] == 2.0
    assert record["loss"]["temperature"] == pytest.approx(0.07)
    assert record["data"]["held_out_articles"] and record["data"]["test_articles"] == 3
    card = (out / "README.md").read_text()
    for text in ("language_weights", "language_temperature", "0.07", "strategy", "hybrid"):
        assert text in card, text


def test_cls_pooled_checkpoint_card_snippets_reproduce_its_embeddings(tmp_path):
    """The card's usage snippets, run as written (repo id -> the folder), give the checkpoint's embeddings."""
    import re

    import numpy as np

    from hf_hybrid.modeling import DualEncoder

    out = tmp_path / "run"
    main(TINY + ["--output_dir", str(out), "--pooling", "cls", "--query_prompt", "query: ",
                 "--passage_prompt", "passage: ", "--eval_before_training", "false"])
    card = (out / "README.md").read_text()
    model = DualEncoder.from_pretrained(str(out))
    assert model.get_config_dict()["pooling"] == "cls" and "CLS pooling" in card
    texts = ["Wer hat den Super Bowl 50 gewonnen?", "Who won?"]
    ours = model.encode_queries(texts)
    blocks = re.findall(r"```python\n(.*?)```", card, flags=re.S)
    st_block = next(b for b in blocks if "SentenceTransformer(" in b)
    hf_block = next(b for b in blocks if "AutoModel.from_pretrained(" in b and "def embed" in b)
    assert 'prompt="query: "' in hf_block and 'prompt="passage: "' in hf_block
    repo_id = re.search(r"SentenceTransformer\([\"']([^\"']+)[\"']", st_block).group(1)
    for block, encode in ((st_block, lambda ns: ns["model"].encode_query(texts)),
                          (hf_block, lambda ns: ns["embed"](texts, prompt="query: ").numpy())):
        namespace: dict = {}
        exec(block.replace(f"\"{repo_id}\"", f"\"{out}\""), namespace)  # noqa: S102 - our own card's snippet
        np.testing.assert_allclose(encode(namespace), ours, atol=1e-5)


def test_run_without_evaluation_still_gets_a_card_with_its_recipe(tmp_path):
    out = tmp_path / "run"
    results = main(TINY + ["--output_dir", str(out), "--test_articles", "0", "--strategy", "x-y"])
    assert results["after"] == {} and results["before"] is None
    card = (out / "README.md").read_text()
    assert "| sampler / strategy | x-y |" in card and "model-index" not in card


def test_step_alpha_schedule_and_language_negatives_from_yaml(tmp_path, capsys):
    """Mono-first (alpha 1 -> 0 at half of training), with language negatives on the cross-lingual steps."""
    cfg = tmp_path / "run.yaml"
    cfg.write_text("alpha: 1.0\nalpha_schedule: step\nalpha_end: 0.0\nalpha_switch: 0.5\nlanguage_negatives: 1\n"
                   "multi_positive: sum\n")
    out = tmp_path / "run"
    main([str(cfg), *TINY, "--output_dir", str(out), "--eval_before_training", "false", "--logging_steps", "1",
          "--test_articles", "0"])
    printed = capsys.readouterr().out
    assert _logged(printed, "alpha") == [1.0, 1.0, 0.0, 0.0]
    assert _logged(printed, "batches_mono")[-1] == 2 and _logged(printed, "batches_cross")[-1] == 2
    record = json.loads((out / "hf_hybrid_training.json").read_text())
    sampler = record["sampler"]
    assert (sampler["alpha_schedule"], sampler["alpha"], sampler["alpha_end"], sampler["alpha_switch"]) == \
        ("step", 1.0, 0.0, 0.5)
    assert (sampler["language_negatives"], sampler["language_negatives_from"]) == (1, "article")
    assert record["loss"]["multi_positive"] == "sum"
    card = (out / "README.md").read_text()
    for row in ("| sampler / alpha_schedule | step |", "| sampler / alpha_switch | 0.5 |",
                "| sampler / language_negatives | 1 |", "| sampler / language_negatives_from | article |",
                "| loss / multi_positive | sum |"):
        assert row in card, row


def test_cosine_alpha_schedule_and_x_multi_from_flags(tmp_path, capsys):
    out = tmp_path / "cosine"
    main(TINY + ["--output_dir", str(out), "--alpha", "1", "--alpha_schedule", "cosine", "--alpha_end", "0",
                 "--logging_steps", "1", "--eval_before_training", "false", "--test_articles", "0"])
    # (1 + cos(pi * t / 3)) / 2 at t = 0..3
    assert _logged(capsys.readouterr().out, "alpha") == pytest.approx([1.0, 0.75, 0.25, 0.0], abs=1e-4)
    out = tmp_path / "multi"
    main(TINY + ["--output_dir", str(out), "--strategy", "x-multi", "--languages_per_group", "2",
                 "--language_negatives", "2", "--language_negatives_from", "any", "--logging_steps", "2",
                 "--eval_before_training", "false", "--test_articles", "0"])
    assert _logged(capsys.readouterr().out, "batches_multi")[-1] == 4
    record = json.loads((out / "hf_hybrid_training.json").read_text())
    assert {k: record["sampler"][k] for k in ("strategy", "languages_per_group", "language_negatives",
                                              "language_negatives_from", "alpha_switch")} == {
        "strategy": "x-multi", "languages_per_group": 2, "language_negatives": 2, "language_negatives_from": "any",
        "alpha_switch": None}
    card = (out / "README.md").read_text()
    assert "| sampler / strategy | x-multi |" in card and "| sampler / languages_per_group | 2 |" in card
