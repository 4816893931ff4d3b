"""Fixtures shared by the training tests: the bundled sample split by article, and a tiny encoder on it."""

from __future__ import annotations

import pytest
from tiny import make_tiny_encoder

from hf_hybrid.data import load_lareqa, split_by_article


@pytest.fixture(scope="module")
def data(xquad_sample):
    ds = load_lareqa(xquad_sample, languages=["en", "de", "zh"])
    return split_by_article(ds, test_size=3, seed=0)


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory, data):
    train, _ = data
    return make_tiny_encoder(tmp_path_factory.mktemp("enc") / "tiny", list(train["query"]) + list(train["positive"]))
