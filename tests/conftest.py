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
