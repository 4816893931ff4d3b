"""hf_hybrid.training.arguments: the argument dataclasses, and the sampling checks run when they are built.

The parser, YAML/JSON and command-line side (flags, unknown keys, errors that name the config file) is
tested in tests/commands/test_train.py; here the dataclasses are built directly.
"""

from __future__ import annotations

import re
from dataclasses import fields
from types import SimpleNamespace

import pytest

from hf_hybrid.sampling import Strategy
from hf_hybrid.training.arguments import (
    TINY_MODEL,
    DataArguments,
    HybridTrainingArguments,
    ModelArguments,
    check_sampling_arguments,
)

STRATEGY_VALUES = ["hybrid", "x-x-mono", "x-x", "x-y", "x-multi"]


def _args(tmp_path, **kw) -> HybridTrainingArguments:
    return HybridTrainingArguments(output_dir=str(tmp_path), report_to=[], **kw)


def test_sampling_defaults(tmp_path):
    a = _args(tmp_path)
    assert (a.strategy, a.alpha, a.alpha_schedule, a.alpha_end, a.language_weights, a.language_temperature) == \
        ("hybrid", 0.5, "constant", None, "uniform", None)
    assert (a.alpha_switch, a.languages_per_group, a.language_negatives, a.language_negatives_from) == \
        (None, None, 0, "article")


def test_model_and_data_defaults():
    m, d = ModelArguments(), DataArguments()
    assert m.model_name_or_path == TINY_MODEL == "tiny"
    assert (m.pooling, m.query_max_length, m.passage_max_length, m.loss_temperature) == (None, 64, 128, 0.05)
    assert (m.lora, m.lora_r, m.lora_alpha, m.merge_lora) == (False, 8, 16, False)
    assert m.multi_positive == "mean" and ModelArguments(multi_positive="sum").multi_positive == "sum"
    with pytest.raises(ValueError, match=r"multi_positive='max' is not one of \['mean', 'sum'\]"):
        ModelArguments(multi_positive="max")
    assert (d.train_data, d.languages, d.test_articles, d.split_seed, d.eval_before_training) == \
        ("bundled", None, 0.25, 0, True)


def test_old_demo_model_name_names_its_new_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="model_name_or_path='demo' was renamed to 'tiny'"):
        ModelArguments(model_name_or_path="demo")
    (tmp_path / "demo").mkdir()  # a local model folder that happens to be called demo is still a path
    assert ModelArguments(model_name_or_path="demo").model_name_or_path == "demo"


def test_loss_and_language_temperatures_are_distinct_settings():
    model_fields = {f.name for f in fields(ModelArguments)}
    training_fields = {f.name for f in fields(HybridTrainingArguments)}
    assert "loss_temperature" in model_fields and "language_temperature" not in model_fields
    assert "language_temperature" in training_fields and "loss_temperature" not in training_fields
    assert "temperature" not in model_fields | training_fields


def test_strategy_choices_are_the_enum_values():
    (strategy,) = [f for f in fields(HybridTrainingArguments) if f.name == "strategy"]
    assert strategy.metadata["choices"] == STRATEGY_VALUES == [s.value for s in Strategy]


@pytest.mark.parametrize("strategy", list(Strategy))
def test_strategy_enum_round_trips(tmp_path, strategy):
    for given in (strategy, strategy.value):
        a = _args(tmp_path, strategy=given)
        # stored as the plain string (what configs, records and cards hold) ...
        assert a.strategy == strategy.value and type(a.strategy) is str
        # ... which maps back to the same member
        assert Strategy(a.strategy) is strategy


@pytest.mark.parametrize("bad", ["x-z", "mono", "X-Y", "", "hybrid "])
def test_unknown_strategy_is_a_value_error(tmp_path, bad):
    with pytest.raises(ValueError, match=re.escape(f"strategy={bad!r} is not one of {STRATEGY_VALUES}.")):
        _args(tmp_path, strategy=bad)


# The dataclass checks (moved from tests/commands/test_train.py, which keeps the command-line side).
@pytest.mark.parametrize("kw, message", [
    ({"alpha": 1.5}, r"alpha=1.5 must be a probability in \[0, 1\]"),
    ({"alpha": -0.1}, r"alpha=-0.1 must be a probability in \[0, 1\]"),
    ({"alpha": True}, r"alpha=True must be a probability in \[0, 1\]"),
    ({"alpha_schedule": "linear"}, "alpha_schedule='linear' needs alpha_end="),
    ({"alpha_schedule": "linear", "alpha_end": 2.0}, r"alpha_end=2.0 must be a probability in \[0, 1\]"),
    ({"alpha_end": 0.2}, r"alpha_end=0.2 is only used with alpha_schedule in \['linear', 'cosine', 'step'\]"),
    ({"alpha_schedule": "exp"}, r"unknown alpha_schedule='exp'; use one of \['constant', 'linear', 'cosine', 'step'\]"),
    ({"alpha_schedule": "cosine"}, "alpha_schedule='cosine' needs alpha_end="),
    ({"alpha_schedule": "step", "alpha_end": 0.0}, r"alpha_schedule='step' needs alpha_switch= in \(0, 1\)"),
    ({"alpha_schedule": "step", "alpha_end": 0.0, "alpha_switch": 1.0}, "got alpha_switch=1.0"),
    ({"alpha_schedule": "linear", "alpha_end": 0.0, "alpha_switch": 0.5},
     r"alpha_switch=0.5 is only used with alpha_schedule='step' \(got 'linear'\)"),
    ({"languages_per_group": 2}, "languages_per_group=2 is only used with strategy='x-multi'"),
    ({"strategy": "x-multi", "languages_per_group": 3, "per_device_train_batch_size": 8},
     "languages_per_group=3 must divide the per-process batch size 8"),
    ({"strategy": "x-multi", "languages_per_group": 0}, "languages_per_group=0 must be a positive integer"),
    ({"language_negatives": -1}, "language_negatives=-1 must be an integer >= 0"),
    ({"language_negatives": 1, "language_negatives_from": "paragraph"},
     r"language_negatives_from='paragraph' must be one of \['article', 'any'\]"),
    ({"language_negatives": 1, "strategy": "x-x-mono"}, r"this run has none \(strategy='x-x-mono'\)"),
    ({"language_negatives": 1, "alpha": 1.0}, r"this run has none \(strategy='hybrid', alpha 1 all along\)"),
    ({"language_negatives": 1, "strategy": "x-multi", "languages_per_group": 1},
     r"\(strategy='x-multi', languages_per_group=1\)"),
    ({"language_weights": "temperature", "language_temperature": 0.0},
     r"language_weights='temperature' needs language_temperature=tau > 0 .*got language_temperature=0.0"),
    ({"language_weights": "temperature", "language_temperature": -2.0}, "got language_temperature=-2.0"),
    ({"language_weights": "temperature", "language_temperature": float("inf")}, "got language_temperature=inf"),
    ({"language_weights": "nope"}, "language_weights='nope' must be 'uniform', 'proportional', 'temperature'"),
    ({"language_temperature": 2.0},
     r"language_temperature=2.0 is only used with language_weights='temperature' \(got 'uniform'\)"),
    ({"language_weights": "proportional", "language_temperature": 2.0},
     "language_temperature=2.0 is only used with language_weights='temperature'"),
])
def test_bad_sampling_settings_fail_when_the_arguments_are_built(tmp_path, kw, message):
    with pytest.raises(ValueError, match=message):
        _args(tmp_path, **kw)


@pytest.mark.parametrize("kw", [
    {"alpha": 0.0}, {"alpha": 1}, {"alpha_schedule": "linear", "alpha_end": 0.1},
    {"alpha": 0.9, "alpha_schedule": "linear", "alpha_end": 0.9},
    {"alpha": 1.0, "alpha_schedule": "cosine", "alpha_end": 0.0},
    {"alpha": 1.0, "alpha_schedule": "step", "alpha_end": 0.0, "alpha_switch": 0.5},  # mono-first
    {"alpha": 0.0, "alpha_schedule": "step", "alpha_end": 1.0, "alpha_switch": 0.25},  # the reverse
    {"strategy": "x-multi"}, {"strategy": "x-multi", "languages_per_group": 4, "per_device_train_batch_size": 16},
    {"strategy": "x-y", "language_negatives": 2, "language_negatives_from": "any"},
    {"strategy": "x-multi", "language_negatives": 1}, {"alpha": 1.0, "alpha_schedule": "linear", "alpha_end": 0.5,
                                                       "language_negatives": 3},
    {"language_weights": "proportional"}, {"language_weights": "temperature", "language_temperature": 2.0},
    # a mapping's languages are only known to the data: checked by the sampler, not here
    {"language_weights": {"en": 2.0, "xx": 1.0}},
])
def test_good_sampling_settings_are_kept_as_given(tmp_path, kw):
    a = _args(tmp_path, **kw)
    assert {k: getattr(a, k) for k in kw} == kw


def test_temperature_weights_default_to_tau_one(tmp_path):
    a = _args(tmp_path, language_weights="temperature")
    assert a.language_temperature == 1.0  # tau = 1: proportional to the group counts
    assert _args(tmp_path, language_weights="temperature", language_temperature=3).language_temperature == 3
    assert _args(tmp_path).language_temperature is None  # other weightings take no tau


def test_language_temperature_with_a_mapping_fails_up_front(tmp_path):
    with pytest.raises(ValueError, match="language_temperature=2.0 is only used with language_weights='temperature'"):
        _args(tmp_path, language_weights={"en": 1.0}, language_temperature=2.0)


def test_check_sampling_arguments_normalises_the_strategy_in_place():
    ns = SimpleNamespace(strategy=Strategy.X_X_MONO, alpha=0.5, alpha_schedule="constant", alpha_end=None,
                         alpha_switch=None, language_weights="uniform", language_temperature=None,
                         per_device_train_batch_size=8, languages_per_group=None, language_negatives=0,
                         language_negatives_from="article")
    check_sampling_arguments(ns)
    assert ns.strategy == "x-x-mono" and type(ns.strategy) is str
    ns.alpha = 3
    with pytest.raises(ValueError, match=r"alpha=3 must be a probability"):
        check_sampling_arguments(ns)
