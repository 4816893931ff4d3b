"""Checkpoints, tokens and helpers shared by the Hub tests (``from hub_fixtures import ...``; tests/ is on sys.path).

Used by tests/hub/, tests/commands/test_hub.py and tests/training/test_hub_push.py. Importing the pytest
fixtures below into a test module makes them available there (module-scoped: one checkpoint per module).
Everything talks to the local Hub-compatible server of tests/hub_server.py, started by tests/conftest.py
before any HF library is imported (they read HF_ENDPOINT at import).
"""

from __future__ import annotations

from pathlib import Path

from hub_server import ensure_session_server

ensure_session_server()  # no-op when conftest already did it (it must, when other tests import HF first)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402
from tiny import make_tiny_encoder  # noqa: E402

TOKEN = "hf_TestTokenAbcdefghijklmnopqrstuv"
OLD_TOKEN = "hf_OldTokenZyxwvutsrqponmlkjihgfe"  # a stale token left in a training record
TEXTS = ["Wie hoch ist der Eiffelturm?", "Der Eiffelturm ist 330 Meter hoch.", "What is the capital of France?"]
REPO_ROOT = Path(__file__).resolve().parents[1]


def require_local_endpoint() -> None:
    from huggingface_hub import constants

    _, url = ensure_session_server()
    if constants.ENDPOINT != url:
        pytest.skip(f"huggingface_hub was imported before the local Hub started (ENDPOINT={constants.ENDPOINT}); "
                    "tests/conftest.py must call hub_server.ensure_session_server() at import time")


@pytest.fixture
def hub_server():
    """The session's local Hub, emptied before each test (overrides conftest's, checking the endpoint)."""
    require_local_endpoint()
    server, _ = ensure_session_server()
    server.reset()
    yield server
    server.reset()


def metrics_fixture() -> dict:
    """A RetrievalResult.to_dict()-shaped result (3 languages)."""
    langs = ["de", "en", "zh"]
    grid = [[0.81, 0.62, 0.40], [0.66, 0.85, 0.45], [0.38, 0.47, 0.79]]
    return {"name": "xquad-r", "model": None, "meta": {}, "languages": langs, "num_queries": 30,
            "num_candidates": 40, "score_function": "cosine",
            "pool": {"map": 0.5123456, "max_rd": 7.25, "num_evaluated": 30, "num_skipped": 0},
            "mono": {"map": 0.8166667, "num_cells": 3}, "cross": {"map": 0.4966667, "num_cells": 6},
            "matrix": {"map": grid, "num_skipped": [[0] * 3] * 3},
            "top_k_language_share": {"k": 10, "shares": [[0.4, 0.3, 0.3]] * 3}}


def record_fixture(model_config: dict) -> dict:
    """A training record (hf_hybrid_training.json, format 2) with a stale token in its training section."""
    return {
        "format_version": 2, "hf_hybrid_version": "0.1.0", "base_model": "bert-base-multilingual-cased",
        "languages": ["de", "en", "zh"],
        "data": {"train_data": "bundled", "languages": None, "context": False, "n_train_rows": 96,
                 "n_train_groups": 32, "held_out_articles": ["Warsaw"]},
        "model": model_config,
        "sampler": {"strategy": "hybrid", "alpha": 0.5, "alpha_schedule": "constant", "alpha_end": None,
                    "language_weights": "uniform", "language_temperature": None, "languages": ["de", "en", "zh"],
                    "batch_size": 8, "seed": 0},
        "loss": {"name": "InfoNCELoss", "temperature": 0.05, "learnable_temperature": False, "symmetric": False},
        "training": {"learning_rate": 0.001, "max_steps": 6, "seed": 0, "global_step": 6, "hub_token": OLD_TOKEN},
    }


def yaml_header(readme: str) -> dict:
    assert readme.startswith("---\n")
    return yaml.safe_load(readme.split("---\n", 2)[1])


def embed_st(model_id: str) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(model_id, device="cpu")
    return st.encode_query(TEXTS, convert_to_numpy=True)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return make_tiny_encoder(tmp_path_factory.mktemp("enc") / "tiny", TEXTS)


@pytest.fixture(scope="module")
def full_ckpt(tmp_path_factory, tiny_dir) -> Path:
    """A full checkpoint with prompts, its training record and a card with one dataset's results."""
    import json

    from hf_hybrid.checkpoint import TRAINING_RECORD_NAME
    from hf_hybrid.hub import write_model_card
    from hf_hybrid.modeling import DualEncoder

    model = DualEncoder.from_pretrained(str(tiny_dir), query_prompt="query: ", passage_prompt="passage: ")
    out = tmp_path_factory.mktemp("ckpt") / "full"
    model.save_pretrained(out)
    (out / TRAINING_RECORD_NAME).write_text(json.dumps(record_fixture(model.get_config_dict())))
    write_model_card(out, results={"xquad-r": metrics_fixture()}, datasets=["google/xquad"])
    return out


@pytest.fixture(scope="module")
def adapter_ckpt(tmp_path_factory, tiny_dir) -> Path:
    """A LoRA adapter checkpoint whose adapter changes the embeddings; no training record."""
    import torch

    from hf_hybrid.hub import write_model_card
    from hf_hybrid.modeling import DualEncoder, apply_lora

    model = DualEncoder.from_pretrained(str(tiny_dir))
    apply_lora(model, r=4, alpha=8, verbose=False)
    with torch.no_grad():  # LoRA B starts at zero: make the adapter change the embeddings
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    out = tmp_path_factory.mktemp("ckpt") / "adapter"
    model.save_pretrained(out)
    write_model_card(out, results=metrics_fixture())
    return out
