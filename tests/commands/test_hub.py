"""``python -m hf_hybrid push | publish-metric | publish-demo | card | resolve`` (hf_hybrid.commands.hub).

Against the local Hub-compatible server of tests/hub_server.py; user errors must be one ``error:`` line
and exit status 2, never a traceback, and never show a token.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys

import pytest
from hub_fixtures import TOKEN, full_ckpt, hub_server, metrics_fixture, tiny_dir  # noqa: F401 - fixtures

from hf_hybrid.commands.hub import main


def test_cli_push_and_no_token_leak(hub_server, full_ckpt, tmp_path, capfd, caplog, monkeypatch):
    hub_server.require_token = TOKEN
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    ckpt = tmp_path / "ckpt"
    shutil.copytree(full_ckpt, ckpt)
    with caplog.at_level(logging.DEBUG):
        assert main(["push", str(ckpt), "--repo-id", "org/cli", "--private"]) == 0
    out = capfd.readouterr()
    assert "org/cli" in out.out and "committed" in out.out
    assert TOKEN not in out.out + out.err + caplog.text
    for name, data in hub_server.files("org/cli").items():
        assert TOKEN.encode() not in data, name
    # the token did travel, as a header only
    auth = [{k.lower(): v for k, v in h.items()}.get("authorization") for _, _, h in hub_server.request_log]
    assert f"Bearer {TOKEN}" in auth
    assert all(TOKEN not in path for _, path, _ in hub_server.request_log)
    # a file holding the token (e.g. pickled TrainingArguments under another name) is refused
    (ckpt / "notes.txt").write_text(f"my token is {TOKEN}")
    assert main(["push", str(ckpt), "--repo-id", "org/cli"]) == 2
    err = capfd.readouterr().err
    assert "notes.txt" in err and "contains your Hub token" in err and TOKEN not in err


def test_cli_bad_repo_id(full_ckpt):
    assert main(["push", str(full_ckpt), "--repo-id", "noslash"]) == 2


def test_cli_not_a_checkpoint(tmp_path, capfd):
    assert main(["push", str(tmp_path / "missing"), "--repo-id", "org/x"]) == 2
    assert "does not exist" in capfd.readouterr().err


@pytest.mark.parametrize("entry", [["hf_hybrid"], ["hf_hybrid.commands.hub"]])
def test_unreachable_endpoint(full_ckpt, tmp_path, entry):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "HF_ENDPOINT": f"http://127.0.0.1:{port}", "HF_HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", *entry, "push", str(full_ckpt), "--repo-id", "org/x"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert f"the Hub at http://127.0.0.1:{port} is unreachable" in proc.stderr
    assert "HF_ENDPOINT" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_card_rewrites_the_readme_with_results_and_base_model(full_ckpt, tmp_path, capfd):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(full_ckpt, ckpt)
    results = tmp_path / "results.json"
    results.write_text(json.dumps({**metrics_fixture(), "name": "mlqa-r"}))
    assert main(["card", str(ckpt), "--results", str(results), "--base-model", "org/base", "--language", "de",
                 "--repo-id", "org/card"]) == 0
    assert str(ckpt / "README.md") in capfd.readouterr().out
    text = (ckpt / "README.md").read_text()
    assert "base_model: org/base" in text and 'SentenceTransformer("org/card")' in text
    assert "| mlqa-r | 0.5123 |" in text and "| sampler / strategy | hybrid |" in text
    assert main(["card", str(ckpt), "--results", str(tmp_path / "missing.json")]) == 2
    assert "--results" in capfd.readouterr().err
    results.write_text("{not json")
    assert main(["card", str(ckpt), "--results", str(results)]) == 2
    assert "not valid JSON" in capfd.readouterr().err


def test_cli_resolve(hub_server, full_ckpt, capfd):
    assert main(["resolve", str(full_ckpt)]) == 0
    info = json.loads(capfd.readouterr().out)
    assert info["weights"] == "full" and info["sentence_transformers"]
    assert info["base_model"] == "bert-base-multilingual-cased"
    assert main(["resolve", "org/does-not-exist"]) == 2
    err = capfd.readouterr().err
    assert "not found" in err and "Traceback" not in err
