"""Fixtures of the modeling tests: a tiny encoder built on the test texts, and DualEncoders around it.

``modeling_support`` (texts and helpers shared by several test modules) is made importable here, as
``tests/conftest.py`` does for ``tiny``. A test module can override ``tiny_dir`` with its own texts; the
fixtures below then use that one.
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from modeling_support import LORA_PASSAGES, LORA_QUERIES, PASSAGES, PROMPT_TEXTS, QUERIES, train_lora  # noqa: E402
from tiny import make_tiny_encoder  # noqa: E402

from hf_hybrid.modeling import DualEncoder, apply_lora  # noqa: E402


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return make_tiny_encoder(tmp_path_factory.mktemp("tiny") / "enc", texts=QUERIES + PASSAGES + PROMPT_TEXTS)


@pytest.fixture(scope="module")
def lora_tiny_dir(tmp_path_factory):
    return make_tiny_encoder(tmp_path_factory.mktemp("tiny") / "enc", texts=LORA_QUERIES + LORA_PASSAGES + ["query: passage:"] * 3)


@pytest.fixture
def e5(tiny_dir):
    return DualEncoder.from_pretrained(tiny_dir, query_prompt="query: ", passage_prompt="passage: ")


@pytest.fixture
def lora_model(lora_tiny_dir):
    m = DualEncoder.from_pretrained(lora_tiny_dir, query_prompt="query: ", passage_prompt="passage: ")
    apply_lora(m, r=4, alpha=8, verbose=False)
    train_lora(m)
    return m
