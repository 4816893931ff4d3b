"""train.py's front-end: config files, flag overrides, unknown keys, sampling settings checked up front."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from hf_hybrid.commands.train import parse_args
from hf_hybrid.hub.recipe_summary import RECOMMENDED_RECIPE


def test_yaml_then_flags(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("alpha: 0.3\nstrategy: x-y\nlanguages: [en, de]\noutput_dir: out\nmax_steps: 5\n")
    m, d, t = parse_args([str(cfg), "--alpha", "0.7"])
    assert t.alpha == 0.7 and t.strategy == "x-y" and t.max_steps == 5
    assert d.languages == ["en", "de"] and m.model_name_or_path == "tiny"


def test_unknown_key_names_key_and_file(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("aplha: 0.3\n")
    with pytest.raises(SystemExit, match=r"c.yaml: unknown key\(s\) 'aplha' \(did you mean 'alpha'\?\)"):
        parse_args([str(cfg)])


def test_unknown_flag():
    with pytest.raises(SystemExit, match=r"unknown argument\(s\) \['--nope'"):
        parse_args(["--output_dir", "x", "--nope", "1"])


def test_json_config_and_missing_file(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text('{"alpha": 0.25, "output_dir": "o"}')
    assert parse_args([str(cfg)])[2].alpha == 0.25
    with pytest.raises(SystemExit, match="not found"):
        parse_args([str(tmp_path / "missing.yaml")])


def test_linear_schedule_from_flags_and_yaml(tmp_path):
    _, _, t = parse_args(["--output_dir", "x", "--alpha_schedule", "linear", "--alpha_end", "0.2"])
    assert (t.alpha, t.alpha_schedule, t.alpha_end) == (0.5, "linear", 0.2)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("output_dir: o\nalpha: 0.9\nalpha_schedule: linear\nalpha_end: 0.1\n")
    _, _, t = parse_args([str(cfg)])
    assert (t.alpha, t.alpha_schedule, t.alpha_end) == (0.9, "linear", 0.1)


@pytest.mark.parametrize("shape, extra", [("cosine", []), ("step", ["--alpha_switch", "0.25"])])
def test_cosine_and_step_schedules_from_flags_and_yaml(tmp_path, shape, extra):
    _, _, t = parse_args(["--output_dir", "x", "--alpha", "1", "--alpha_schedule", shape, "--alpha_end", "0", *extra])
    assert (t.alpha, t.alpha_schedule, t.alpha_end, t.alpha_switch) == (1.0, shape, 0.0, 0.25 if extra else None)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"output_dir: o\nalpha: 0.0\nalpha_schedule: {shape}\nalpha_end: 1.0\n"
                   + ("alpha_switch: 0.5\n" if extra else ""))
    _, _, t = parse_args([str(cfg)])
    assert (t.alpha, t.alpha_schedule, t.alpha_end, t.alpha_switch) == (0.0, shape, 1.0, 0.5 if extra else None)


def test_new_training_signals_from_flags_and_yaml(tmp_path):
    m, _, t = parse_args(["--output_dir", "x", "--strategy", "x-multi", "--languages_per_group", "4",
                          "--per_device_train_batch_size", "16", "--language_negatives", "2",
                          "--language_negatives_from", "any", "--multi_positive", "sum"])
    assert (t.strategy, t.languages_per_group, t.language_negatives, t.language_negatives_from, m.multi_positive) \
        == ("x-multi", 4, 2, "any", "sum")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("output_dir: o\nstrategy: x-y\nlanguage_negatives: 3\n")
    _, _, t = parse_args([str(cfg)])
    assert (t.strategy, t.language_negatives, t.language_negatives_from) == ("x-y", 3, "article")


# Every sampling check of the dataclass itself is in tests/training/test_arguments.py; here: the parser's own
# choices, and a dataclass check reached through typed flags ("1.5", "2" -> floats) and turned into an exit.
@pytest.mark.parametrize("flags, message", [
    (["--strategy", "x-z"], "invalid choice: 'x-z'"),
    (["--alpha", "1.5"], r"^error: the command line: alpha=1.5 must be a probability in \[0, 1\]"),
    (["--language_weights", "temperature", "--language_temperature", "0"],
     r"^error: the command line: .*needs language_temperature=tau > 0"),
    (["--language_temperature", "2"], r"^error: the command line: .*language_temperature=2.0 is only used with"),
    (["--alpha_schedule", "exp"], "invalid choice: 'exp'"),
    (["--alpha_schedule", "step", "--alpha_end", "0"], r"^error: the command line: alpha_schedule='step' needs "
                                                        r"alpha_switch= in \(0, 1\)"),
    (["--multi_positive", "max"], "invalid choice: 'max'"),
    (["--language_negatives_from", "paragraph"], "invalid choice: 'paragraph'"),
    (["--strategy", "x-multi", "--languages_per_group", "3"], r"^error: the command line: strategy='x-multi': "
                                                              "languages_per_group=3 must divide"),
    (["--strategy", "x-x", "--language_negatives", "1"], r"^error: the command line: language_negatives=1 adds "
                                                          "negatives to cross-lingual pairs, and this run has none"),
])
def test_bad_sampling_flags_fail_before_anything_is_loaded(flags, message, capsys):
    with pytest.raises(SystemExit) as exc:
        parse_args(["--output_dir", "x", *flags])
    assert exc.value.code != 0
    assert re.search(message, str(exc.value.code) + capsys.readouterr().err)


def test_bad_sampling_value_in_yaml_names_the_file(tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("output_dir: o\nstrategy: x-z\n")
    with pytest.raises(SystemExit, match=r"run.yaml and the command line: strategy='x-z' is not one of"):
        parse_args([str(cfg)])


@pytest.mark.parametrize("argv, message", [
    (["--temperature", "0.05"], r"--temperature \(renamed to --loss_temperature\)"),
    (["--demo_vocab_size", "800"], r"--demo_vocab_size \(renamed to --tiny_vocab_size\)"),
])
def test_renamed_flags_name_their_new_name(argv, message):
    with pytest.raises(SystemExit, match=message):
        parse_args(["--output_dir", "x", *argv])


def test_renamed_yaml_keys_and_the_old_demo_model_name(tmp_path, monkeypatch):
    cfg = tmp_path / "old.yaml"
    cfg.write_text("temperature: 0.05\ndemo_hidden_size: 32\n")
    with pytest.raises(SystemExit, match=r"'demo_hidden_size' \(renamed to 'tiny_hidden_size'\), 'temperature' "
                                         r"\(renamed to 'loss_temperature'\)"):
        parse_args([str(cfg)])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="model_name_or_path='demo' was renamed to 'tiny'"):
        parse_args(["--output_dir", "x", "--model_name_or_path", "demo"])


def test_temperature_language_weights_default_to_tau_one():
    _, _, t = parse_args(["--output_dir", "x", "--language_weights", "temperature"])
    assert t.language_temperature == 1.0


CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))


@pytest.mark.parametrize("cfg", CONFIGS, ids=[c.name for c in CONFIGS])
def test_shipped_configs_parse(cfg):
    # --bf16 false: the paper-like recipe asks for bf16, which TrainingArguments refuses without a GPU
    parsed = parse_args([str(cfg), "--bf16", "false"])
    for key, value in yaml.safe_load(cfg.read_text()).items():
        if key == "bf16":
            continue
        (owner,) = [a for a in parsed if hasattr(a, key)]
        got = getattr(owner, key)
        assert getattr(got, "value", got) == value, key  # enums of TrainingArguments compare by value


def test_recommended_config_is_the_studied_recipe():
    # configs/recommended.yaml must train what benchmarks/strategy_study.py measured as "hybrid-a0.5+neg1"
    # (benchmarks/results/strategy_final.md): same recipe, same budget, same model settings
    m, d, t = parse_args([str(Path(__file__).resolve().parents[2] / "configs" / "recommended.yaml")])
    assert (m.model_name_or_path, m.lora, m.lora_r, m.lora_alpha, m.lora_dropout) == ("e5-small", True, 16, 32, 0.0)
    assert (m.query_max_length, m.passage_max_length, m.loss_temperature, m.multi_positive) == (32, 64, 0.05, "mean")
    assert not m.symmetric_loss and not m.learnable_temperature
    assert (t.strategy, t.alpha, t.alpha_schedule) == ("hybrid", 0.5, "constant")
    assert (t.language_negatives, t.language_negatives_from) == (1, "article")
    assert (t.per_device_train_batch_size, t.max_steps, t.learning_rate, t.warmup_steps, t.weight_decay) == \
        (32, 100, 2e-4, 10, 0.0)
    assert getattr(t.lr_scheduler_type, "value", t.lr_scheduler_type) == "linear"
    assert (d.train_data, d.test_articles, d.split_seed) == ("bundled", 3, 0)  # the quickstart's held-out split
    sampler = {"strategy": t.strategy, "alpha": t.alpha, "alpha_schedule": getattr(t.alpha_schedule, "value", t.alpha_schedule),
               "language_negatives": t.language_negatives, "language_negatives_from": t.language_negatives_from}
    assert RECOMMENDED_RECIPE.matches(sampler)  # so its model card says "hf-hybrid's recommended recipe"
