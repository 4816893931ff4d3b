"""LAReQAEvaluator: our pool metrics inside sentence-transformers (offline, tiny random model)."""

from __future__ import annotations

import json

import pytest

from tiny import make_tiny_encoder


@pytest.fixture(scope="module")
def pool(xquad_sample):
    from hf_hybrid.data import load_lareqa, load_lareqa_pool

    articles = sorted(set(load_lareqa(xquad_sample, languages=["en"])["article"]))[:1]  # keep it small
    return load_lareqa_pool(xquad_sample, languages=["en", "de", "zh"], articles=articles)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, pool):
    from hf_hybrid.modeling import DualEncoder

    enc = make_tiny_encoder(tmp_path_factory.mktemp("enc") / "tiny", pool.query_texts + pool.cand_texts)
    model = DualEncoder.from_pretrained(str(enc), query_prompt="query: ", passage_prompt="passage: ")
    out = tmp_path_factory.mktemp("ckpt") / "m"
    model.save_pretrained(out)
    return out


def test_matches_library_numbers_and_fills_model_card(model_dir, pool, tmp_path):
    from sentence_transformers import SentenceTransformer

    from hf_hybrid.evaluation import evaluate_model
    from hf_hybrid.modeling import DualEncoder
    from hf_hybrid.evaluation import LAReQAEvaluator

    st = SentenceTransformer(str(model_dir), device="cpu")
    evaluator = LAReQAEvaluator(pool, name="xquad-r", batch_size=16)
    metrics = evaluator(st, output_path=str(tmp_path), epoch=1, steps=5)

    assert evaluator.primary_metric == "xquad-r_pool_map" and evaluator.greater_is_better
    expected = evaluate_model(DualEncoder.from_pretrained(str(model_dir)), pool).summary()
    for key in ("pool_map", "mono_map", "cross_map"):
        assert metrics[f"xquad-r_{key}"] == pytest.approx(expected[key], abs=1e-5), key
    # MaxRD counts rank positions: a 1e-7 float difference can swap two near-tied random candidates
    assert metrics["xquad-r_max_rd"] == pytest.approx(expected["max_rd"], rel=1e-2)
    assert 0.0 < metrics["xquad-r_pool_map"] <= 1.0
    saved = json.loads((tmp_path / "xquad-r_results.json").read_text())
    assert saved["name"] == "xquad-r" and saved["languages"] == ["de", "en", "zh"]
    assert evaluator.last_result.pool_map == metrics["xquad-r_pool_map"]

    # sentence-transformers records the numbers for its own model card and training logs
    assert st.model_card_data.eval_results_dict[evaluator] == metrics
    assert st.model_card_data.training_logs[-1]["xquad-r_pool_map"] == metrics["xquad-r_pool_map"]


def test_lower_is_better_primary_and_bad_input(pool):
    from hf_hybrid.data import RetrievalPool
    from hf_hybrid.evaluation import LAReQAEvaluator

    ev = LAReQAEvaluator(pool, primary_metric="max_rd")
    assert ev.greater_is_better is False and ev.name == pool.name
    with pytest.raises(TypeError, match="RetrievalPool"):
        LAReQAEvaluator({"queries": []})
    empty = RetrievalPool([], [], [], [], ["c"], [("g",)], ["en"], ["text"], name="empty")
    with pytest.raises(ValueError, match="0 queries"):
        LAReQAEvaluator(empty)
    with pytest.raises(ValueError, match="batch_size"):
        LAReQAEvaluator(pool, batch_size=0)
