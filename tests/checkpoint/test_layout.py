"""hf_hybrid.checkpoint.layout: a checkpoint's file names and the entries a save owns (docs/design.md section 4)."""

from __future__ import annotations

import pytest
from tiny import make_tiny_encoder

from hf_hybrid.checkpoint import layout
from hf_hybrid.checkpoint.layout import (
    MANAGED_ENTRIES,
    MANAGED_PATTERNS,
    MARKER_ENTRIES,
    is_managed,
)


def test_file_names_of_the_design():
    assert (layout.HF_HYBRID_CONFIG_NAME, layout.TRAINING_RECORD_NAME, layout.CARD_INPUTS_NAME,
            layout.SAMPLER_STATE_NAME, layout.PASSAGE_SUBFOLDER) == (
        "hf_hybrid_config.json", "hf_hybrid_training.json", "hf_hybrid_card.json", "sampler_state.json",
        "passage_encoder")
    assert (layout.MODULES_NAME, layout.ST_CONFIG_NAME, layout.SENTENCE_BERT_CONFIG_NAME, layout.ROUTER_CONFIG_NAME,
            layout.POOLING_FOLDER, layout.NORMALIZE_FOLDER) == (
        "modules.json", "config_sentence_transformers.json", "sentence_bert_config.json", "router_config.json",
        "1_Pooling", "2_Normalize")
    assert (layout.MODEL_CONFIG_NAME, layout.ADAPTER_CONFIG_NAME) == ("config.json", "adapter_config.json")
    assert layout.ADAPTER_WEIGHT_FILES == ("adapter_model.safetensors", "adapter_model.bin")
    assert "model.safetensors" in layout.WEIGHT_FILES and "tokenizer.json" in layout.TOKENIZER_FILES


def test_markers_are_managed_and_unique():
    assert set(MARKER_ENTRIES) <= MANAGED_ENTRIES
    assert all(is_managed(name) for name in MARKER_ENTRIES)
    assert len(set(MARKER_ENTRIES)) == len(MARKER_ENTRIES)
    # the loaders' entry points: a directory without them is not taken for a model
    assert {layout.MODULES_NAME, layout.MODEL_CONFIG_NAME, layout.ADAPTER_CONFIG_NAME} <= set(MARKER_ENTRIES)


def test_every_name_a_save_writes_is_managed():
    for name in (*layout.WEIGHT_FILES, *layout.ADAPTER_WEIGHT_FILES, *layout.TOKENIZER_FILES):
        assert is_managed(name), name
    for name in ("config.json", "generation_config.json", "adapter_config.json", "modules.json",
                 "sentence_bert_config.json", "config_sentence_transformers.json", "router_config.json",
                 "hf_hybrid_config.json", "1_Pooling", "2_Normalize", "passage_encoder"):
        assert is_managed(name), name
    assert all(is_managed(name) for name in MANAGED_ENTRIES)


@pytest.mark.parametrize("name", [
    # what training, publishing and users put beside a model: never removed by a save
    "hf_hybrid_training.json", "hf_hybrid_card.json", "README.md", "sampler_state.json", "checkpoint-500",
    ".staging-checkpoint-3", "trainer_state.json", "training_args.bin", "optimizer.pt", "scheduler.pt",
    "rng_state.pth", "runs", "eval_results.json", "xquad-r_lang_pair_map.png", "merged", "configs",
    # near misses of managed names
    "Config.json", "config.json.bak", "model.safetensors.tmp", "1_pooling", "passage_encoder2", "vocab.txt~",
])
def test_foreign_entries_are_not_managed(name):
    assert not is_managed(name)


@pytest.mark.parametrize("name", [
    "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model-1-of-3.safetensors",
    "pytorch_model-00001-of-00005.bin", "pytorch_model-12-of-12.bin",
])
def test_shards_of_any_count_are_managed(name):
    assert name not in MANAGED_ENTRIES
    assert is_managed(name)


@pytest.mark.parametrize("name", [
    "model-00001-of-00002.bin", "pytorch_model-00001-of-00002.safetensors",  # wrong suffix for the prefix
    "model-a-of-b.safetensors", "model-00001-00002.safetensors", "model--of-2.safetensors",
    "xmodel-00001-of-00002.safetensors", "model-00001-of-00002.safetensors.tmp",  # the whole name must match
    "adapter_model-00001-of-00002.safetensors", "checkpoint-00001-of-00002.safetensors",
])
def test_shard_patterns_match_whole_names_only(name):
    assert not is_managed(name)
    assert not any(p.fullmatch(name) for p in MANAGED_PATTERNS)


# ---------------------------------------------------------------- against real saves


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return make_tiny_encoder(tmp_path_factory.mktemp("enc") / "tiny", ["query: a b c", "passage: d e f"])


def _entries(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("variant", ["shared", "separate", "lora"])
def test_a_save_writes_only_managed_entries(tiny_dir, tmp_path, variant):
    from hf_hybrid.modeling import DualEncoder, apply_lora

    model = DualEncoder.from_pretrained(tiny_dir, separate_towers=variant == "separate", query_prompt="query: ")
    if variant == "lora":
        apply_lora(model, r=2, alpha=4, verbose=False)
    out = model.save_pretrained(tmp_path / "m")
    names = _entries(out)
    assert [n for n in names if not is_managed(n)] == []
    # the save's loader entry points are among the markers
    assert [n for n in names if n in MARKER_ENTRIES]
    if variant == "lora":
        assert layout.ADAPTER_CONFIG_NAME in names and layout.MODEL_CONFIG_NAME not in names
    if variant == "separate":
        assert layout.PASSAGE_SUBFOLDER in names and layout.ROUTER_CONFIG_NAME in names


def test_a_second_save_replaces_managed_entries_and_keeps_the_rest(tiny_dir, tmp_path):
    from hf_hybrid.modeling import DualEncoder

    out = DualEncoder.from_pretrained(tiny_dir, separate_towers=True).save_pretrained(tmp_path / "m")
    for name in ("README.md", "hf_hybrid_training.json"):
        (out / name).write_text("{}")
    (out / "checkpoint-5").mkdir()
    (out / "model-00001-of-00002.safetensors").write_bytes(b"\x00")  # a stale shard of an earlier save
    DualEncoder.from_pretrained(tiny_dir).save_pretrained(out)
    names = _entries(out)
    assert {"README.md", "hf_hybrid_training.json", "checkpoint-5"} <= set(names)  # not the save's: kept
    # the save's own entries that it no longer writes are gone: the passage tower, the router, the stale shard
    assert not {"passage_encoder", "router_config.json", "model-00001-of-00002.safetensors"} & set(names)


def test_a_lora_save_keeps_an_existing_model_card(tiny_dir, tmp_path):
    from hf_hybrid.modeling import DualEncoder, apply_lora

    out = tmp_path / "m"
    out.mkdir()
    (out / "README.md").write_text("# my card\n")
    model = DualEncoder.from_pretrained(tiny_dir)
    apply_lora(model, r=2, alpha=4, verbose=False)
    model.save_pretrained(out)
    assert (out / "README.md").read_text() == "# my card\n"
