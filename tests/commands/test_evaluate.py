"""``python -m hf_hybrid evaluate``: LAReQA and BEIR directories, outputs, cache reuse, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from beir_data import write_beir
from retrieval_fixtures import FakeEncoder

from hf_hybrid.commands import evaluate as cli
from hf_hybrid.data import load_lareqa_pool


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from tiny import make_tiny_encoder

    return make_tiny_encoder(tmp_path_factory.mktemp("tiny") / "model")


def test_cli_lareqa_with_fake_encoder_writes_outputs_and_reuses_cache(xquad_sample, tmp_path, capsys):
    args = cli.build_parser().parse_args(["--model", "fake", "--data", str(xquad_sample), "--langs", "en", "de", "zh",
                                          "--output", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"),
                                          "--no-progress", "--k-values", "1", "10"])
    enc = FakeEncoder()
    result = cli.run(args, model=enc)
    pool = load_lareqa_pool(xquad_sample, languages=["en", "de", "zh"])
    assert result.languages == ["de", "en", "zh"]
    assert result.metrics["num_queries"] == len(pool.query_ids)
    assert result.metrics["num_candidates"] == len(pool.cand_ids)
    assert len(enc.encoded) == len(set(pool.query_texts)) + len(set(pool.cand_texts))
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["pool"]["map"] == result.pool_map and saved["model"] == "fake"
    assert saved["meta"]["languages_selected"] == ["en", "de", "zh"]
    assert (tmp_path / "out" / "results_map_matrix.png").read_bytes()[:4] == b"\x89PNG"
    assert "multilingual pool mAP" in capsys.readouterr().out
    assert set(saved["pool"]) >= {"recall@1", "recall@10", "mrr@10", "ndcg@10", "max_rd", "num_skipped"}

    enc.encoded.clear()
    again = cli.run(args, model=enc)
    assert enc.encoded == [] and again.metrics == result.metrics

    ctx_args = cli.build_parser().parse_args(["--model", "fake", "--data", str(xquad_sample), "--langs", "en",
                                              "--context", "--no-cache", "--output", str(tmp_path / "ctx"), "--no-progress"])
    ctx = cli.run(ctx_args, model=enc)
    assert ctx.metrics["pool"]["map"] != result.metrics["pool"]["map"]   # candidates now carry their paragraph


def test_cli_main_with_real_tiny_model_on_beir(tiny_model, tmp_path):
    beir = write_beir(tmp_path / "beir")
    out = tmp_path / "out"
    rc = cli.main(["--model", str(tiny_model), "--data", str(beir), "--output", str(out),
                   "--cache-dir", str(tmp_path / "cache"), "--no-progress", "--device", "cpu"])
    assert rc == 0
    saved = json.loads((out / "results.json").read_text())
    assert saved["num_queries"] == 2 and saved["num_candidates"] == 3 and saved["languages"] == ["und"]
    assert saved["score_function"] == "cosine" and saved["meta"]["split"] == "test"
    # The cache holds exactly the encoded texts; a second run reads them back and gives the same numbers.
    shards = sorted((tmp_path / "cache").rglob("shard-*.npz"))
    assert len(shards) == 2
    assert cli.main(["--model", str(tiny_model), "--data", str(beir), "--output", str(out / "2"),
                     "--cache-dir", str(tmp_path / "cache"), "--no-progress", "--device", "cpu"]) == 0
    assert sorted((tmp_path / "cache").rglob("shard-*.npz")) == shards
    assert json.loads((out / "2" / "results.json").read_text())["pool"] == saved["pool"]


def test_cli_errors_are_one_clear_line(tmp_path, capsys):
    assert cli.main(["--model", "x", "--data", str(tmp_path / "nope"), "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "error: --data" in err and "not a directory" in err and "Traceback" not in err
    with pytest.raises(SystemExit):
        cli.main(["--data", str(tmp_path)])                              # --model is required


@pytest.mark.parametrize("entry", [["hf_hybrid.commands.evaluate"], ["hf_hybrid", "evaluate"]])
def test_module_entry_point_help(entry):
    out = subprocess.run([sys.executable, "-m", *entry, "--help"], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    for flag in ("--model", "--data", "--langs", "--context", "--output", "--cache-dir", "--split", "--run", "--qrels"):
        assert flag in out


# --------------------------------------------------------------------------- run mode (--run): no model, no embeddings

def _write_run(path: Path, rows: dict[str, list[tuple[str, float]]]) -> Path:
    from hf_hybrid.retrieval.run_file import Run, write_trec_run

    return write_trec_run(Run(list(rows), [[d for d, _ in r] for r in rows.values()],
                              [[s for _, s in r] for r in rows.values()], name="bm25"), path)


def test_run_mode_with_trec_qrels_only(tmp_path, capsys):
    run = _write_run(tmp_path / "run.trec", {"q1": [("d1", 0.9), ("d2", 0.5)], "q2": [("d3", 0.7), ("d1", 0.2)]})
    (tmp_path / "qrels.txt").write_text("q1 0 d2 1\nq2 0 d3 2\nq3 0 d1 1\n")
    rc = cli.main(["--run", str(run), "--qrels", str(tmp_path / "qrels.txt"), "--output", str(tmp_path / "out")])
    assert rc == 0
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    # q1: AP 1/2; q2: AP 1; q3 (judged, not in the run): 0 -> mAP 0.5
    assert saved["pool"]["map"] == 0.5 and saved["run"]["num_missing_from_run"] == 1 and saved["model"] == "bm25"
    assert saved["languages"] == ["und"] and saved["meta"]["k"] == 2 and saved["score_function"] == "run"
    assert set(saved["pool"]) >= {"recall@1", "recall@2", "mrr@2", "ndcg@2", "max_rd"}
    assert "MRR/nDCG at @2" in capsys.readouterr().err                  # a top-2 run has no nDCG@10
    assert cli.main(["--run", str(run), "--qrels", str(tmp_path / "qrels.txt"), "--output", str(tmp_path / "o2"),
                     "--missing-queries", "skip"]) == 0
    assert json.loads((tmp_path / "o2" / "results.json").read_text())["pool"]["map"] == 0.75


def test_run_mode_languages_from_a_lareqa_dir_match_the_library(xquad_sample, tmp_path):
    import numpy as np

    from hf_hybrid.data import load_retrieval_data
    from hf_hybrid.evaluation.topk import compute_topk_metrics

    data = load_retrieval_data(xquad_sample, languages=["en", "de"])
    rng = np.random.default_rng(0)
    rows = {q: list(zip(rng.choice(data.doc_ids, 20, replace=False).tolist(), np.sort(rng.random(20))[::-1].tolist()))
            for q in data.query_ids[:50]}
    run = _write_run(tmp_path / "run.trec", rows)
    result = cli.run(cli.build_parser().parse_args(["--run", str(run), "--data", str(xquad_sample), "--langs", "en",
                                                    "de", "--output", str(tmp_path / "out")]))
    lib = compute_topk_metrics({q: dict(r) for q, r in rows.items()}, data.qrels, doc_langs=data.doc_lang_map(),
                               query_langs=data.query_lang_map(), k=20, k_values=(1, 5, 10, 20))
    assert result.metrics["pool"] == lib["pool"] and result.metrics["matrix"] == lib["matrix"]
    assert result.languages == ["de", "en"]
    assert result.metrics["run"]["num_missing_from_run"] == len(data.query_ids) - 50
    assert (tmp_path / "out" / "results_map_matrix.png").is_file()


def test_run_mode_with_a_miracl_dir(tmp_path):
    root = tmp_path / "miracl" / "sw"
    root.mkdir(parents=True)
    (root / "topics.dev.tsv").write_text("1\tswali\n2\tjingine\n", encoding="utf-8")
    (root / "qrels.dev.tsv").write_text("1 Q0 a#0 1\n2 Q0 b#0 1\n", encoding="utf-8")
    (root / "corpus.jsonl").write_text("".join(json.dumps({"docid": d, "title": "", "text": d}) + "\n"
                                               for d in ("a#0", "b#0", "c#0")), encoding="utf-8")
    run = _write_run(tmp_path / "run.trec", {"1": [("c#0", 0.9), ("a#0", 0.8)], "2": [("b#0", 0.5), ("a#0", 0.1)]})
    rc = cli.main(["--run", str(run), "--data", str(tmp_path / "miracl"), "--output", str(tmp_path / "out")])
    assert rc == 0
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["pool"]["map"] == 0.75 and saved["languages"] == ["sw"] and saved["meta"]["data"].endswith("miracl")


def test_run_mode_errors(tmp_path, capsys):
    run = _write_run(tmp_path / "run.trec", {"q1": [("d1", 0.9)]})
    assert cli.main(["--run", str(run), "--output", str(tmp_path / "o")]) == 2
    assert "--run needs --qrels" in capsys.readouterr().err
    assert cli.main(["--run", str(run), "--qrels", str(tmp_path / "none.txt"), "--langs", "en"]) == 2
    assert "--langs needs --data" in capsys.readouterr().err
    (tmp_path / "qrels.txt").write_text("q1 0 d1 1\n")
    (tmp_path / "bad.trec").write_text("q1 Q0 d1 x 0.5 t\n")
    assert cli.main(["--run", str(tmp_path / "bad.trec"), "--qrels", str(tmp_path / "qrels.txt")]) == 2
    assert "bad.trec:1: field 'rank'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["--run", str(run), "--model", "x", "--qrels", str(tmp_path / "qrels.txt")])
