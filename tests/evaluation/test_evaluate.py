"""evaluate_model / evaluate_embeddings: encoding through the cache, a fake and a real encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from retrieval_fixtures import FakeEncoder, tiny_pool

from hf_hybrid.data import RetrievalPool, load_lareqa_pool
from hf_hybrid.evaluation import evaluate_embeddings, evaluate_model


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from tiny import make_tiny_encoder

    return make_tiny_encoder(tmp_path_factory.mktemp("tiny") / "model")


def test_evaluate_model_uses_the_cache_and_matches_embeddings(tmp_path):
    pool = tiny_pool()
    pool.cand_texts[3] = pool.cand_texts[0]                  # a duplicate text is encoded once
    enc = FakeEncoder()
    first = evaluate_model(enc, pool, batch_size=2, cache_dir=tmp_path)
    assert len(enc.encoded) == 3 + 3 and set(enc.encoded) == set(pool.query_texts) | set(pool.cand_texts)
    ref = evaluate_embeddings(np.stack([enc._vec(t, "") for t in pool.query_texts]),
                              np.stack([enc._vec(t, "") for t in pool.cand_texts]), pool)
    assert first.metrics == ref.metrics and first.metrics["score_function"] == "cosine"
    enc.encoded.clear()
    again = evaluate_model(enc, pool, cache_dir=tmp_path)
    assert enc.encoded == [] and again.metrics == first.metrics
    no_cache = evaluate_model(enc, pool, cache_dir=None)
    assert no_cache.metrics == first.metrics and len(enc.encoded) == 6
    assert not list(Path(tmp_path).rglob(".*tmp*"))  # atomic shard writes leave no temporaries


def test_real_model_through_evaluate_model_matches_its_embeddings(tiny_model, xquad_sample):
    from hf_hybrid.modeling import DualEncoder

    model = DualEncoder.from_pretrained(tiny_model)
    full = load_lareqa_pool(xquad_sample, languages=["en", "es"])
    # A slice keeps encoding cheap: 30 queries, their answers and 40 distractors.
    nq = 30
    groups = set(full.query_groups[:nq])
    keep = [i for i, g in enumerate(full.cand_groups) if groups & set(g)] + list(range(40))
    keep = sorted(set(keep))
    pick = lambda xs, idx: [xs[i] for i in idx]  # noqa: E731
    pool = RetrievalPool(full.query_ids[:nq], full.query_groups[:nq], full.query_langs[:nq], full.query_texts[:nq],
                         pick(full.cand_ids, keep), pick(full.cand_groups, keep), pick(full.cand_langs, keep),
                         pick(full.cand_texts, keep), name="slice")
    res = evaluate_model(model, pool, batch_size=64)
    ref = evaluate_embeddings(model.encode_queries(pool.query_texts, show_progress_bar=False),
                              model.encode_passages(pool.cand_texts, show_progress_bar=False), pool)
    assert res.metrics["pool"] == pytest.approx(ref.metrics["pool"], abs=1e-6)
    assert res.metrics["score_function"] == "cosine"
    assert 0.0 < res.pool_map < 1.0 and res.max_rd >= 0
