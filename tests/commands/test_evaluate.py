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
    for flag in ("--model", "--data", "--langs", "--context", "--output", "--cache-dir", "--split"):
        assert flag in out
