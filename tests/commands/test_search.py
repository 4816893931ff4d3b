"""``python -m hf_hybrid.search`` end to end on tiny stores: exact, HNSW with recall report, saved index, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from search_fixtures import clustered, near, write_store

from hf_hybrid.__main__ import main as hf_main
from hf_hybrid.commands.search import main
from hf_hybrid.retrieval.run_file import read_trec_run
from hf_hybrid.retrieval.search import exact_search
from hf_hybrid.retrieval.shards import EmbeddingStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stores(tmp_path):
    """600 clustered passages (12 clusters, seed 0) in float16 chunks of 128, 30 queries near them (seed 1)."""
    emb = clustered(600, 16, 12, seed=0)
    corpus = write_store(tmp_path / "corpus", emb, [f"doc{i}" for i in range(600)], chunk_size=128, dtype="float16")
    queries = write_store(tmp_path / "queries", near(emb, 30, seed=1), [f"q{i}" for i in range(30)], chunk_size=8,
                          role="query")
    return corpus, queries


def _report(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_exact_search_writes_the_run(tmp_path, stores, capsys):
    corpus, queries = stores
    out = tmp_path / "runs" / "exact.trec"
    assert main(["--embeddings", str(corpus), "--queries", str(queries), "--k", "20", "--output", str(out),
                 "--run_name", "exact", "--progress", "false", "--threads", "1"]) == 0
    report = _report(capsys)
    assert report["queries"] == 30 and report["k"] == 20 and set(report["exact"]) == {"seconds", "qps"}
    run = read_trec_run(out)
    expected = exact_search(EmbeddingStore(corpus), EmbeddingStore(queries), 20, show_progress=False, name="exact")
    assert run == expected and len(run) == 30 and all(len(d) == 20 for d in run.doc_ids)


def test_hnsw_with_recall_report_then_saved_index(tmp_path, stores, capsys):
    corpus, queries = stores
    common = ["--queries", str(queries), "--k", "10", "--progress", "false"]
    assert main(["--embeddings", str(corpus), *common, "--output", str(tmp_path / "hnsw.trec"), "--index_kind",
                 "hnsw", "--hnsw_m", "8", "--ef_search", "64", "--save_index", str(tmp_path / "ix"),
                 "--report_recall", "--report_json", str(tmp_path / "report.json")]) == 0
    report = _report(capsys)
    assert report == json.loads((tmp_path / "report.json").read_text())
    assert report["index"]["factory"] == "HNSW8" and report["index"]["ef_search"] == 64
    assert report["recall@10"] >= 0.9 and report["speedup_vs_exact"] > 0
    recall = report["recall@10"]
    assert set(report) >= {"build", "search", "exact"}
    first = read_trec_run(tmp_path / "hnsw.trec")
    # the saved index, with its saved ef_search, gives the same run; an explicit flag overrides it
    assert main(["--index", str(tmp_path / "ix"), *common, "--output", str(tmp_path / "again.trec")]) == 0
    assert _report(capsys)["index"]["ef_search"] == 64
    assert read_trec_run(tmp_path / "again.trec") == first
    assert main(["--index", str(tmp_path / "ix"), "--embeddings", str(corpus), "--report_recall", "--ef_search",
                 "200", *common, "--output", str(tmp_path / "wide.trec")]) == 0
    report = _report(capsys)
    assert report["index"]["ef_search"] == 200 and report["recall@10"] >= recall


def test_errors(tmp_path, stores, capsys):
    corpus, queries = stores
    with pytest.raises(SystemExit, match="pass exactly one of --index DIR and --embeddings STORE"):
        main(["--queries", str(queries), "--output", str(tmp_path / "r.trec")])
    with pytest.raises(SystemExit, match="--k must be positive, got 0"):
        main(["--embeddings", str(corpus), "--queries", str(queries), "--output", "r", "--k", "0"])
    other = write_store(tmp_path / "other", np.ones((3, 16), np.float32), ["a", "b", "c"], role="query",
                        model_fingerprint="another-model")
    assert main(["--embeddings", str(corpus), "--queries", str(other), "--output", str(tmp_path / "r.trec")]) == 2
    err = capsys.readouterr().err
    assert "was encoded by another model than" in err and "encode both with the same --model" in err
    assert main(["--index", str(tmp_path / "nothing"), "--queries", str(queries), "--output", "r.trec"]) == 2
    assert "not a saved index" in capsys.readouterr().err
    assert main(["--embeddings", str(queries), "--queries", str(corpus), "--output", str(tmp_path / "r.trec"),
                 "--k", "1", "--progress", "false"]) == 0  # roles swapped: allowed, with a warning
    assert "holds role 'passage' embeddings, not 'query'" in capsys.readouterr().err
    assert read_trec_run(tmp_path / "r.trec").query_ids[:2] == ["doc0", "doc1"]


def test_module_and_hf_hybrid_entry_points(tmp_path, stores, capsys):
    corpus, queries = stores
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "hf_hybrid.search", "--embeddings", str(corpus), "--queries",
                           str(queries), "--k", "5", "--output", str(tmp_path / "cli.trec"), "--progress", "false"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["k"] == 5
    assert hf_main(["search", "--embeddings", str(corpus), "--queries", str(queries), "--k", "5", "--output",
                    str(tmp_path / "main.trec"), "--progress", "false"]) == 0
    assert read_trec_run(tmp_path / "main.trec") == read_trec_run(tmp_path / "cli.trec")


def test_flag_mistakes_are_refused_not_ignored(tmp_path, stores, capsys):
    corpus, queries = stores
    common = ["--embeddings", str(corpus), "--queries", str(queries), "--output", str(tmp_path / "r.trec"),
              "--progress", "false"]
    # exact search builds no index: --save_index would silently save nothing
    assert main([*common, "--save_index", str(tmp_path / "ix")]) == 2
    assert "--save_index needs an approximate --index_kind" in capsys.readouterr().err
    # no abbreviations: `--ef 64` must not slip past the "given explicitly" check as --ef_search
    with pytest.raises(SystemExit):
        main([*common, "--index_kind", "hnsw", "--ef", "64"])
    capsys.readouterr()
    # --report_recall with exact search measures nothing: said so
    assert main([*common, "--k", "5", "--report_recall"]) == 0
    assert "compares exact search with itself" in capsys.readouterr().err
