"""sampler_from_arguments: the typed training arguments, whole, to the HybridBatchSampler."""

from __future__ import annotations

import pytest

from hf_hybrid.training import HybridTrainingArguments
from hf_hybrid.training.batch_sampler import sampler_from_arguments


def _args(tmp_path, **kw) -> HybridTrainingArguments:
    return HybridTrainingArguments(output_dir=str(tmp_path), report_to=[], use_cpu=True, **kw)


@pytest.mark.parametrize("shape, switch", [("cosine", None), ("step", 0.5)])
def test_schedules_count_sampler_steps(tmp_path, data, shape, switch):
    train, _ = data
    args = _args(tmp_path, per_device_train_batch_size=8, max_steps=5, gradient_accumulation_steps=2, alpha=1.0,
                 alpha_schedule=shape, alpha_end=0.0, alpha_switch=switch)
    sampler = sampler_from_arguments(train, args, 1, 0)
    assert (sampler.total_steps, sampler.alpha_schedule, sampler.alpha_switch) == (10, shape, switch)
    epochs = _args(tmp_path, per_device_train_batch_size=8, num_train_epochs=1.5, alpha=1.0, alpha_schedule=shape,
                   alpha_end=0.0, alpha_switch=switch)
    assert sampler_from_arguments(train, epochs, 1, 0).total_steps == 2 * sampler.steps_per_epoch


def test_new_signals_reach_the_sampler(tmp_path, data):
    train, _ = data
    args = _args(tmp_path, per_device_train_batch_size=6, strategy="x-multi", languages_per_group=3,
                 language_negatives=2, language_negatives_from="any")
    config = sampler_from_arguments(train, args, 2, 1).get_config_dict()
    assert {k: config[k] for k in ("strategy", "languages_per_group", "language_negatives", "language_negatives_from",
                                   "global_batch_size")} == {
        "strategy": "x-multi", "languages_per_group": 3, "language_negatives": 2, "language_negatives_from": "any",
        "global_batch_size": 12}
    off = sampler_from_arguments(train, _args(tmp_path, per_device_train_batch_size=8, language_negatives_from="any"),
                                 1, 0).get_config_dict()
    assert (off["language_negatives"], off["language_negatives_from"], off["languages_per_group"]) == (0, None, None)
