"""Tests for hf_hybrid/cli.py: the whole train.py pipeline on the bundled sample, full and LoRA."""

from __future__ import annotations

import json

import pytest

from hf_hybrid.cli import main

TINY = ["--demo_hidden_size", "32", "--demo_vocab_size", "800", "--languages", "en", "de", "zh",
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
    # a rerun reuses the demo encoder built for the same settings, a change of settings rebuilds it
    stamp = out / "demo-encoder-init" / "demo_settings.json"
    first = stamp.stat().st_mtime_ns
    main(TINY + ["--output_dir", str(out), "--eval_before_training", "false"])
    assert stamp.stat().st_mtime_ns == first
    main(TINY + ["--output_dir", str(out), "--demo_vocab_size", "700", "--eval_before_training", "false"])
    assert json.loads(stamp.read_text())["vocab_size"] == 700


def test_lora_pipeline_saves_adapter_and_merged_model(tmp_path, capsys):
    out = tmp_path / "lora"
    results = main(TINY + ["--output_dir", str(out), "--lora", "--lora_r", "4", "--merge_lora",
                           "--eval_before_training", "false"])
    assert (out / "adapter_config.json").is_file() and (out / "adapter_model.safetensors").is_file()
    assert (out / "merged" / "model.safetensors").is_file()
    assert "(LoRA adapter)" in capsys.readouterr().out
    from hf_hybrid import DualEncoder

    texts = ["Wer?", "Who won?"]
    a = DualEncoder.from_pretrained(str(out)).encode_queries(texts)
    b = DualEncoder.from_pretrained(results["merged_dir"]).encode_queries(texts)
    assert abs(a - b).max() < 1e-5
