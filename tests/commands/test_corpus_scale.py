"""The README's "Evaluate on your own large corpus" in its three commands (encode, search, evaluate), end to end.

On the bundled XQuAD-R sample (3 languages), with k = the pool size, the run path must reproduce what the
dense evaluator computes from the same model: the top-k metrics equal the dense ones (``docs/design.md``
section 3). The model is a tiny random encoder; the point is that the three commands fit together.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hf_hybrid.commands import encode as encode_cmd
from hf_hybrid.commands import evaluate as evaluate_cmd
from hf_hybrid.commands import search as search_cmd
from hf_hybrid.data import load_pool

LANGS = ["en", "de", "zh"]


def _write_jsonl(path: Path, ids: list[str], texts: list[str], langs: list[str]) -> Path:
    path.write_text("".join(json.dumps({"id": i, "text": t, "lang": lang}, ensure_ascii=False) + "\n"
                            for i, t, lang in zip(ids, texts, langs)), encoding="utf-8")
    return path


def _flat(value, prefix: str = "") -> dict:
    """Every number of a results.json section, keyed by its path."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flat(item, f"{prefix}/{key}").items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _flat(item, f"{prefix}/{i}").items()}
    return {prefix: value} if isinstance(value, (int, float)) and not isinstance(value, bool) else {}


def _numbers(path: Path) -> dict:
    result = json.loads(path.read_text())
    return _flat({k: result[k] for k in ("pool", "pool_by_query_language", "matrix", "mono", "cross",
                                         "top_k_language_share")})


@pytest.fixture
def keep_threads():
    """The commands' --threads sets torch's global thread count: give it back afterwards."""
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_encode_search_evaluate_reproduces_the_dense_evaluation(tmp_path, keep_threads):
    from tiny import make_tiny_encoder

    pool = load_pool("bundled", languages=LANGS)
    tiny_encoder_dir = make_tiny_encoder(tmp_path / "model", pool.cand_texts[:200] + pool.query_texts[:200])
    corpus = _write_jsonl(tmp_path / "corpus.jsonl", pool.cand_ids, pool.cand_texts, pool.cand_langs)
    queries = _write_jsonl(tmp_path / "queries.jsonl", pool.query_ids, pool.query_texts, pool.query_langs)
    model = str(tiny_encoder_dir)

    # 1. encode the corpus and the queries
    assert encode_cmd.main(["--model", model, "--corpus", str(corpus), "--output", str(tmp_path / "emb/corpus"),
                            "--chunk_size", "128", "--no_progress"]) == 0
    assert encode_cmd.main(["--model", model, "--corpus", str(queries), "--role", "query",
                            "--output", str(tmp_path / "emb/queries"), "--no_progress"]) == 0
    # 2. exact search, k = the whole pool
    run_file = tmp_path / "runs/exact.trec"
    assert search_cmd.main(["--embeddings", str(tmp_path / "emb/corpus"), "--queries", str(tmp_path / "emb/queries"),
                            "--k", str(len(pool.cand_ids)), "--output", str(run_file), "--no_progress"]) == 0
    lines = run_file.read_text().splitlines()
    assert len(lines) == len(pool.query_ids) * len(pool.cand_ids)
    # 3. evaluate the run, and the model the dense way
    assert evaluate_cmd.main(["--run", str(run_file), "--data", "bundled", "--langs", *LANGS,
                              "--output", str(tmp_path / "eval_run")]) == 0
    assert evaluate_cmd.main(["--model", model, "--data", "bundled", "--langs", *LANGS, "--no-cache",
                              "--no-progress", "--output", str(tmp_path / "eval_dense")]) == 0
    from_run = _numbers(tmp_path / "eval_run/results.json")
    dense = _numbers(tmp_path / "eval_dense/results.json")
    shared = set(from_run) & set(dense)
    assert {"/pool/map", "/pool/max_rd", "/mono/map", "/cross/map", "/pool/ndcg@10"} <= shared
    assert len(shared) > 100  # every cell of the 3 x 3 matrix, every query language, the language shares
    dense = {k: dense[k] for k in shared}
    # The run's scores are float64 inner products rounded to float32, the dense path's a float32 GEMM: the
    # rankings agree unless two candidates' scores are within float32 rounding of each other, where a pair
    # can swap (one rank of one query of 1056 moves MaxRD by ~1e-3, i.e. 2e-6 relative). With equal scores
    # both paths give exactly the same numbers (tests/evaluation/test_topk.py).
    for key in dense:
        assert from_run[key] == pytest.approx(dense[key], rel=1e-5, abs=1e-4), key
