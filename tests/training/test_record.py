"""hf_hybrid.training.record: the data section, the record's JSON form, the result-shaping training fields."""

from __future__ import annotations

import json
from dataclasses import fields
from types import SimpleNamespace

import datasets
import pytest

from hf_hybrid._version import __version__
from hf_hybrid.training.arguments import DataArguments, HybridTrainingArguments
from hf_hybrid.training.record import (
    FORMAT_VERSION,
    TRAINING_FIELDS,
    DataRecord,
    TrainingRecord,
    training_section,
)

# 5 rows, 3 groups, 3 languages, deliberately out of order
ROWS = [
    {"group_id": "g2", "lang": "zh", "query": "q", "positive": "p"},
    {"group_id": "g1", "lang": "en", "query": "q", "positive": "p"},
    {"group_id": "g1", "lang": "de", "query": "q", "positive": "p"},
    {"group_id": "g3", "lang": "en", "query": "q", "positive": "p"},
    {"group_id": "g2", "lang": "en", "query": "q", "positive": "p"},
]


@pytest.fixture
def train():
    return datasets.Dataset.from_list(ROWS)


def test_data_record_counts_rows_groups_and_sorts(train):
    args = DataArguments(train_data="pairs.jsonl", languages=["zh", "en", "de"])
    rec = DataRecord.from_dataset(args, train, held_out_articles=["Warsaw", "Apollo", "Normans"])
    assert rec.arguments is args
    assert (rec.n_train_rows, rec.n_train_groups) == (5, 3)
    assert rec.languages == ["de", "en", "zh"]
    assert rec.held_out_articles == ["Apollo", "Normans", "Warsaw"]


def test_data_record_without_held_out_articles(train):
    rec = DataRecord.from_dataset(DataArguments(), train)
    assert rec.held_out_articles is None
    assert rec.get_config_dict()["held_out_articles"] is None
    # an empty held-out list stays an (empty) list: only None means "no held-out split"
    assert DataRecord.from_dataset(DataArguments(), train, held_out_articles=[]).held_out_articles == []


def test_data_record_config_dict_is_the_arguments_plus_what_they_selected(train):
    args = DataArguments(train_data="pairs.jsonl", languages=["en", "de"], test_articles=3, split_seed=7)
    out = DataRecord.from_dataset(args, train, held_out_articles=["b", "a"]).get_config_dict()
    expected_keys = [f.name for f in fields(DataArguments)] + [
        "n_train_rows", "n_train_groups", "languages", "held_out_articles"]
    assert sorted(out) == sorted(set(expected_keys))
    # the record's 'languages' (what the data holds) replaces the argument (what was asked for)
    assert out["languages"] == ["de", "en", "zh"]
    assert out["train_data"] == "pairs.jsonl" and out["test_articles"] == 3 and out["split_seed"] == 7
    assert out["context"] is False and out["eval_data"] is None and out["eval_before_training"] is True
    assert (out["n_train_rows"], out["n_train_groups"], out["held_out_articles"]) == (5, 3, ["a", "b"])
    assert json.loads(json.dumps(out)) == out
    assert args.languages == ["en", "de"]  # the arguments themselves are left alone


def test_training_record_to_dict_is_json_serialisable(train):
    data = DataRecord.from_dataset(DataArguments(), train, ["a"]).get_config_dict()
    record = TrainingRecord(
        base_model="bert-base-multilingual-cased", languages=["de", "en"], model={"pooling": "mean", "lora": None},
        loss={"name": "InfoNCELoss", "temperature": 0.05},
        training={"learning_rate": 1e-3, "lr_scheduler_type": "linear", "global_step": 6},
        sampler={"strategy": "hybrid", "alpha": 0.5, "language_weights": {"en": 2.0, "de": 1.0}}, data=data)
    out = record.to_dict()
    assert list(out) == ["base_model", "languages", "model", "loss", "training", "sampler", "data",
                         "format_version", "hf_hybrid_version"]
    assert out["format_version"] == FORMAT_VERSION == 2
    assert out["hf_hybrid_version"] == __version__
    assert json.loads(json.dumps(out)) == out
    assert out["data"] == data and out["sampler"]["language_weights"] == {"en": 2.0, "de": 1.0}


def test_training_record_optional_sections_default_to_none():
    out = TrainingRecord(base_model=None, languages=[], model={}, loss={}, training={}).to_dict()
    assert out["sampler"] is None and out["data"] is None and out["base_model"] is None
    assert json.loads(json.dumps(out)) == out


def test_training_section_picks_exactly_the_result_shaping_fields():
    values = {name: f"v-{name}" for name in TRAINING_FIELDS}
    values["lr_scheduler_type"] = "cosine"
    args = SimpleNamespace(**values, output_dir="/somewhere", logging_steps=5, hub_token="hf_secret")
    out = training_section(args, num_processes=4, global_step=123)
    assert list(out) == [*TRAINING_FIELDS, "num_processes", "global_step"]
    assert {k: out[k] for k in TRAINING_FIELDS if k != "lr_scheduler_type"} == \
        {k: v for k, v in values.items() if k != "lr_scheduler_type"}
    assert out["lr_scheduler_type"] == "cosine"
    assert (out["num_processes"], out["global_step"]) == (4, 123)


def test_training_section_of_real_arguments(tmp_path):
    args = HybridTrainingArguments(output_dir=str(tmp_path), learning_rate=2e-5, max_steps=10, seed=42,
                                   per_device_train_batch_size=16, lr_scheduler_type="cosine", report_to=[])
    out = training_section(args, num_processes=1, global_step=0)
    # the fields this transformers version has (it may lack some, e.g. warmup_ratio in transformers 5)
    present = [name for name in TRAINING_FIELDS if hasattr(args, name)]
    assert list(out) == [*present, "num_processes", "global_step"]
    assert "output_dir" not in out and "strategy" not in out and "hub_token" not in out
    # transformers' SchedulerType enum becomes its plain string value
    assert out["lr_scheduler_type"] == "cosine" and type(out["lr_scheduler_type"]) is str
    assert (out["learning_rate"], out["max_steps"], out["seed"], out["per_device_train_batch_size"]) == \
        (2e-5, 10, 42, 16)
    assert json.loads(json.dumps(out)) == out


def test_training_section_only_records_fields_the_arguments_have():
    out = training_section(SimpleNamespace(learning_rate=0.1, seed=3), num_processes=2, global_step=5)
    assert out == {"learning_rate": 0.1, "seed": 3, "num_processes": 2, "global_step": 5}
