"""``python -m hf_hybrid.encode``: flags, outputs, errors, resume after kill -9, and 2 processes = 1 process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from hf_hybrid.__main__ import main as hf_hybrid_main
from hf_hybrid.commands import encode as cli
from hf_hybrid.retrieval.shards import EmbeddingStore

ROOT = Path(__file__).resolve().parents[2]
WORDS = "paris capital france berlin spree river bridge tower long high book written university founded".split()


def _write_corpus(path: Path, n: int) -> Path:
    rows = [{"_id": f"d{i}", "title": WORDS[i % len(WORDS)],
             "text": " ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(1 + (i * 13) % 50))} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from tiny import make_tiny_encoder

    return make_tiny_encoder(tmp_path_factory.mktemp("tiny") / "model", [" ".join(WORDS)])


@pytest.fixture
def one_thread():
    """The CLI's --threads 1 sets torch's global thread count: give it back afterwards."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _argv(model: Path, corpus: Path, out: Path, *extra: str) -> list[str]:
    return ["--model", str(model), "--corpus", str(corpus), "--output", str(out), "--id_field", "_id",
            "--title_field", "title", "--threads", "1", "--no_progress", *extra]


def test_cli_encodes_passages_and_queries(tiny_model, tmp_path, capsys, one_thread):
    corpus = _write_corpus(tmp_path / "corpus.jsonl", 40)
    assert cli.main(_argv(tiny_model, corpus, tmp_path / "p", "--chunk_size", "16", "--dtype", "float16",
                          "--max_length", "24")) == 0
    err = capsys.readouterr().err
    assert "process 0/1: encoded chunks [0, 1, 2], kept finished chunks []; 40 rows in" in err
    assert f"wrote {tmp_path / 'p'}: 40 passage embeddings x 32 (float16) in 3 chunk(s)" in err
    store = EmbeddingStore(tmp_path / "p", verify=True)
    assert store.ids() == [f"d{i}" for i in range(40)] and store.spec.max_length == 24
    assert store.manifest["model"] == str(tiny_model) and store.manifest["corpus"] == str(corpus)

    assert hf_hybrid_main(["encode", *_argv(tiny_model, corpus, tmp_path / "q", "--role", "query")]) == 0
    queries = EmbeddingStore(tmp_path / "q")
    assert (queries.role, queries.spec.num_chunks, queries.dtype) == ("query", 1, np.float32)


def test_cli_errors_are_one_line(tiny_model, tmp_path, capsys, one_thread):
    corpus = _write_corpus(tmp_path / "corpus.jsonl", 5)
    no_id_field = ["--model", str(tiny_model), "--corpus", str(corpus), "--output", str(tmp_path / "s"),
                   "--no_progress"]
    assert cli.main(no_id_field) == 2
    assert re.search(r"error: .*corpus\.jsonl: line 1: field 'id' \(the id\) is missing \(the row has \['_id', "
                     r"'text', 'title'\]\)", capsys.readouterr().err)
    assert cli.main(_argv(tiny_model, corpus, tmp_path / "s")) == 0
    assert cli.main(_argv(tiny_model, corpus, tmp_path / "s", "--dtype", "float16")) == 2
    assert "holds embeddings of another run (dtype: 'float16' vs 'float32'" in capsys.readouterr().err
    assert cli.main(_argv(tiny_model, corpus, tmp_path / "s", "--dtype", "float16", "--overwrite")) == 0
    with pytest.raises(SystemExit, match=r"error: --threads must be positive, got 0"):
        cli.main(_argv(tiny_model, corpus, tmp_path / "s", "--threads", "0"))
    with pytest.raises(SystemExit, match=r"error: chunk_size=-1 must be a positive integer"):
        cli.main(_argv(tiny_model, corpus, tmp_path / "s", "--chunk_size", "-1"))


#: run the CLI with every chunk write followed by a pause, so that the test can kill it between two chunks
_SLOW_RUN = """
import sys, time
import hf_hybrid.retrieval.encode_corpus as E
from hf_hybrid.commands.encode import main
write = E.write_chunk
E.write_chunk = lambda *a, **k: (write(*a, **k), time.sleep(0.4))[0]
sys.exit(main(sys.argv[1:]))
"""


def test_rerun_after_kill_9_encodes_only_the_missing_chunks(tiny_model, tmp_path, capsys, one_thread):
    corpus = _write_corpus(tmp_path / "corpus.jsonl", 300)
    out = tmp_path / "s"
    argv = _argv(tiny_model, corpus, out, "--chunk_size", "50")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_RUN, *argv], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not (out / "chunk-000000.json").exists():
        assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
        assert time.monotonic() < deadline, "no chunk appeared"
        time.sleep(0.01)
    proc.kill()  # SIGKILL: no cleanup of any kind
    assert proc.wait(timeout=60) == -9
    proc.stderr.close()
    done = {p.name: p.stat().st_mtime_ns for p in out.glob("chunk-*.json")}
    assert 1 <= len(done) < 6
    assert json.loads((out / "manifest.json").read_text())["complete"] is False

    assert cli.main(argv) == 0
    kept = sorted(int(name[6:12]) for name in done)
    redone = [i for i in range(6) if i not in kept]
    assert f"encoded chunks {redone}, kept finished chunks {kept};" in capsys.readouterr().err
    assert {name: (out / name).stat().st_mtime_ns for name in done} == done  # the finished chunks were not rewritten
    assert cli.main(_argv(tiny_model, corpus, tmp_path / "whole", "--chunk_size", "50")) == 0
    resumed, whole = EmbeddingStore(out, verify=True), EmbeddingStore(tmp_path / "whole")
    assert resumed.ids() == whole.ids()
    np.testing.assert_allclose(resumed.load_all(), whole.load_all(), atol=1e-6, rtol=0)


@pytest.mark.slow
def test_two_processes_give_the_single_process_embeddings(tiny_model, tmp_path, one_thread):
    """``accelerate launch --multi_gpu --num_processes 2`` on CPUs: a gloo group of two (torchrun underneath)."""
    from gloo_support import free_port

    corpus = _write_corpus(tmp_path / "corpus.jsonl", 250)
    assert cli.main(_argv(tiny_model, corpus, tmp_path / "one", "--chunk_size", "40")) == 0
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
              "--main_process_port", str(free_port()), "-m", "hf_hybrid.encode"]
    proc = subprocess.run(launch + _argv(tiny_model, corpus, tmp_path / "two", "--chunk_size", "40"), cwd=ROOT,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "process 0/2: encoded chunks [0, 2, 4, 6], kept finished chunks []; 130 rows" in proc.stderr
    assert "process 1/2: encoded chunks [1, 3, 5], kept finished chunks []; 120 rows" in proc.stderr
    one, two = EmbeddingStore(tmp_path / "one"), EmbeddingStore(tmp_path / "two", verify=True)
    assert two.ids() == one.ids() and two.spec == one.spec
    np.testing.assert_allclose(two.load_all(), one.load_all(), atol=1e-5, rtol=0)
