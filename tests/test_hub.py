"""Hub integration, end to end against the local Hub-compatible server of tests/hub_server.py.

The real clients (huggingface_hub, sentence-transformers, transformers, peft, evaluate) download what
hf_hybrid.hub published; nothing of theirs is patched. The server is started by tests/conftest.py before
any HF library is imported (they read HF_ENDPOINT at import).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

from hub_server import ensure_session_server

ensure_session_server()  # no-op when conftest already did it (it must, when other tests import HF first)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

from hf_hybrid import hub  # noqa: E402
from tiny import make_tiny_encoder  # noqa: E402

TOKEN = "hf_TestTokenAbcdefghijklmnopqrstuv"
OLD_TOKEN = "hf_OldTokenZyxwvutsrqponmlkjihgfe"  # a stale token left in a training config
TEXTS = ["Wie hoch ist der Eiffelturm?", "Der Eiffelturm ist 330 Meter hoch.", "What is the capital of France?"]
REPO_ROOT = Path(__file__).resolve().parents[1]


def _require_local_endpoint() -> None:
    from huggingface_hub import constants

    _, url = ensure_session_server()
    if constants.ENDPOINT != url:
        pytest.skip(f"huggingface_hub was imported before the local Hub started (ENDPOINT={constants.ENDPOINT}); "
                    "tests/conftest.py must call hub_server.ensure_session_server() at import time")


@pytest.fixture
def hub_server():
    """The session's local Hub, emptied before each test (conftest may provide the same fixture)."""
    _require_local_endpoint()
    server, _ = ensure_session_server()
    server.reset()
    yield server
    server.reset()


def _metrics_fixture() -> dict:
    """A RetrievalResult.to_dict()-shaped result (3 languages)."""
    langs = ["de", "en", "zh"]
    grid = [[0.81, 0.62, 0.40], [0.66, 0.85, 0.45], [0.38, 0.47, 0.79]]
    return {"name": "xquad-r", "model": None, "meta": {}, "languages": langs, "num_queries": 30,
            "num_candidates": 40, "score_function": "cosine",
            "pool": {"map": 0.5123456, "max_rd": 7.25, "num_evaluated": 30, "num_skipped": 0},
            "mono": {"map": 0.8166667, "num_cells": 3}, "cross": {"map": 0.4966667, "num_cells": 6},
            "matrix": {"map": grid, "num_skipped": [[0] * 3] * 3},
            "top_k_language_share": {"k": 10, "shares": [[0.4, 0.3, 0.3]] * 3}}


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return make_tiny_encoder(tmp_path_factory.mktemp("enc") / "tiny", TEXTS)


@pytest.fixture(scope="module")
def full_ckpt(tmp_path_factory, tiny_dir) -> Path:
    from hf_hybrid.model import DualEncoder

    model = DualEncoder.from_pretrained(str(tiny_dir), query_prompt="query: ", passage_prompt="passage: ")
    out = tmp_path_factory.mktemp("ckpt") / "full"
    model.save_pretrained(out)
    (out / hub.TRAINING_CONFIG_NAME).write_text(json.dumps(
        {"base_model": "bert-base-multilingual-cased", "strategy": "hybrid", "alpha": 0.5, "batch_size": 8,
         "max_steps": 6, "languages": ["de", "en", "zh"], "hub_token": OLD_TOKEN}))
    hub.write_model_card(out, results={"xquad-r": _metrics_fixture()}, datasets=["google/xquad"])
    return out


@pytest.fixture(scope="module")
def adapter_ckpt(tmp_path_factory, tiny_dir) -> Path:
    import torch

    from hf_hybrid.lora import apply_lora
    from hf_hybrid.model import DualEncoder

    model = DualEncoder.from_pretrained(str(tiny_dir))
    apply_lora(model, r=4, alpha=8, verbose=False)
    with torch.no_grad():  # LoRA B starts at zero: make the adapter change the embeddings
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    out = tmp_path_factory.mktemp("ckpt") / "adapter"
    model.save_pretrained(out)
    hub.write_model_card(out, results=_metrics_fixture())
    return out


# ---------------------------------------------------------------------------------------------- cards


def _yaml(readme: str) -> dict:
    assert readme.startswith("---\n")
    return yaml.safe_load(readme.split("---\n", 2)[1])


def test_card_yaml_holds_metadata_and_model_index(full_ckpt):
    text = (full_ckpt / "README.md").read_text()
    meta = _yaml(text)
    assert meta["library_name"] == "sentence-transformers"
    assert meta["pipeline_tag"] == "sentence-similarity"
    assert {"hf-hybrid", "multilingual", "cross-lingual-retrieval"} <= set(meta["tags"])
    assert meta["language"] == ["de", "en", "zh"]
    assert meta["base_model"] == "bert-base-multilingual-cased"
    assert meta["datasets"] == ["google/xquad"]
    assert meta["license"] == "apache-2.0"
    results = meta["model-index"][0]["results"]
    got = {m["name"]: m["value"] for r in results for m in r["metrics"]}
    assert got == {"pool mAP": 0.5123, "mono mAP": 0.8167, "cross mAP": 0.4967, "MaxRD": 7.25}
    assert {r["dataset"]["name"] for r in results} == {"xquad-r"}
    # the body: usage for both libraries, recipe, per-language table, heatmap, limitations, citation
    assert 'SentenceTransformer("full")' in text and "AutoModel.from_pretrained" in text
    assert "PeftModel" not in text
    assert '"query: "' in text and '"passage: "' in text  # the prompts of this checkpoint
    assert "| strategy | hybrid |" in text and "| alpha | 0.5 |" in text
    assert "| de | 0.8100 | 0.5100 | 0.5200 |" in text  # mono, mean row off-diag, mean column off-diag
    assert "![xquad-r language-pair mAP](xquad_r_lang_pair_map.png)" in text
    assert (full_ckpt / "xquad_r_lang_pair_map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "MaxRD 7.25 on xquad-r" in text and "zh->de mAP 0.380" in text
    assert "arXiv" in text and "2408.10536" in text
    assert OLD_TOKEN not in text and "hub_token" not in text  # secrets never reach the card


def test_card_for_adapter_uses_peft(adapter_ckpt, tiny_dir):
    text = (adapter_ckpt / "README.md").read_text()
    meta = _yaml(text)
    assert meta["library_name"] == "peft" and "lora" in meta["tags"]
    assert "base_model" not in meta  # a local path is no Hub id: kept out of the YAML the Hub validates
    assert "PeftModel.from_pretrained" in text and "merge_and_unload" in text
    assert str(tiny_dir) in text  # ...but the usage snippet names the base it needs


def test_card_from_retrieval_result_object(tmp_path):
    from hf_hybrid.evaluation import RetrievalResult

    result = RetrievalResult.from_dict(_metrics_fixture())
    card = hub.build_model_card(base_model="org/base", results=result, languages=["de", "en", "zh"])
    meta = card.data.to_dict()
    assert meta["model-index"][0]["results"][0]["metrics"][0]["value"] == 0.5123
    assert "| zh | 0.7900 |" in card.text


# ---------------------------------------------------------------------------------------------- publishing


def _embed_st(model_id: str) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(model_id, device="cpu")
    return st.encode_query(TEXTS, convert_to_numpy=True)


def test_push_full_checkpoint_and_reload(hub_server, full_ckpt):
    import torch
    from transformers import AutoModel, AutoTokenizer

    from hf_hybrid.model import DualEncoder

    result = hub.push(full_ckpt, "org/tiny-hybrid")
    assert result.changed and len(hub_server.commits("org/tiny-hybrid")) == 2  # initial + ours: ONE commit
    files = hub_server.files("org/tiny-hybrid")
    assert {"README.md", "model.safetensors", "modules.json", "config.json"} <= set(files)
    assert hub.CARD_INPUTS_NAME not in files
    assert 'SentenceTransformer("org/tiny-hybrid")' in files["README.md"].decode()  # rendered with the repo id

    local = DualEncoder.from_pretrained(str(full_ckpt)).encode_queries(TEXTS)
    np.testing.assert_allclose(_embed_st("org/tiny-hybrid"), local, atol=1e-6)

    tok = AutoTokenizer.from_pretrained("org/tiny-hybrid")
    model = AutoModel.from_pretrained("org/tiny-hybrid").eval()
    batch = tok(["query: " + t for t in TEXTS], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    emb = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    np.testing.assert_allclose(emb, local, atol=1e-6)

    # DualEncoder and resolve_checkpoint take the Hub id too
    np.testing.assert_allclose(DualEncoder.from_pretrained("org/tiny-hybrid").encode_queries(TEXTS), local, atol=1e-6)
    info = hub.resolve_checkpoint("org/tiny-hybrid")
    assert info.kind == "full" and info.repo_id == "org/tiny-hybrid" and info.sentence_transformers

    # pushing the unchanged folder again makes no commit
    again = hub.push(full_ckpt, "org/tiny-hybrid")
    assert not again.changed and again.commit_oid == result.commit_oid
    assert len(hub_server.commits("org/tiny-hybrid")) == 2


def test_push_adapter_and_reload_with_peft(hub_server, adapter_ckpt, tiny_dir):
    import torch
    from peft import PeftModel
    from transformers import AutoModel

    from hf_hybrid.model import DualEncoder

    hub.push(adapter_ckpt, "org/tiny-lora")
    files = hub_server.files("org/tiny-lora")
    assert {"adapter_config.json", "adapter_model.safetensors", "README.md"} <= set(files)
    assert "model.safetensors" not in files

    info = hub.resolve_checkpoint("org/tiny-lora")
    assert info.kind == "adapter" and info.base_model == str(tiny_dir)  # from adapter_config.json

    local_model = DualEncoder.from_pretrained(str(adapter_ckpt))
    local = local_model.encode_queries(TEXTS)
    base = AutoModel.from_pretrained(info.base_model)
    peft_model = PeftModel.from_pretrained(base, "org/tiny-lora").eval()
    batch = local_model.tokenizer.pad(local_model.tokenize(TEXTS, "query"), return_tensors="pt")
    with torch.no_grad():
        hidden = peft_model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    emb = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    np.testing.assert_allclose(emb, local, atol=1e-6)
    plain = DualEncoder.from_pretrained(str(tiny_dir)).encode_queries(TEXTS)
    assert np.abs(plain - local).max() > 1e-3  # the adapter matters
    np.testing.assert_allclose(DualEncoder.from_pretrained("org/tiny-lora").encode_queries(TEXTS), local, atol=1e-6)


def test_push_private_revision_and_pr(hub_server, full_ckpt, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)  # private repos are readable with a token only
    res = hub.push(full_ckpt, "org/rev", private=True, revision="experiment")
    repo = hub_server.get_repo("org/rev")
    assert repo.private and "experiment" in repo.branches
    assert "model.safetensors" in hub_server.files("org/rev", revision="experiment")
    assert "model.safetensors" not in hub_server.files("org/rev")  # main untouched
    assert res.revision == "experiment"
    pr = hub.push(full_ckpt, "org/pr-target", create_pr=True)
    assert pr.pr_url and pr.pr_url.endswith("/discussions/1")
    assert "model.safetensors" not in hub_server.files("org/pr-target")
    assert "model.safetensors" in hub_server.files("org/pr-target", revision="refs/pr/1")


def test_push_deletes_stale_files_in_the_same_commit(hub_server, full_ckpt, tmp_path):
    from huggingface_hub import HfApi

    HfApi().create_repo("org/stale")
    HfApi().upload_file(path_or_fileobj=b"old", path_in_repo="pytorch_model.bin", repo_id="org/stale")
    hub.push(full_ckpt, "org/stale")
    assert "pytorch_model.bin" not in hub_server.files("org/stale")
    assert len(hub_server.commits("org/stale")) == 3


def test_cli_push_and_no_token_leak(hub_server, full_ckpt, tmp_path, capfd, caplog, monkeypatch):
    hub_server.require_token = TOKEN
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    ckpt = tmp_path / "ckpt"
    shutil.copytree(full_ckpt, ckpt)
    with caplog.at_level(logging.DEBUG):
        assert hub.main(["push", str(ckpt), "--repo-id", "org/cli", "--private"]) == 0
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
    assert hub.main(["push", str(ckpt), "--repo-id", "org/cli"]) == 2
    err = capfd.readouterr().err
    assert "notes.txt" in err and "contains your Hub token" in err and TOKEN not in err


def test_publish_metric_space_and_load_with_evaluate(hub_server, tmp_path):
    import evaluate

    from hf_hybrid.metrics_core import compute_retrieval_metrics

    metric_dir = REPO_ROOT / "spaces" / "lareqa_metric"
    if not (metric_dir / "app.py").is_file():
        pytest.skip("spaces/lareqa_metric is not written yet")
    res = hub.publish_metric(metric_dir, "org/lareqa")
    files = hub_server.files("org/lareqa", repo_type="space")
    assert "lareqa.py" in files and "app.py" in files
    meta = _yaml(files["README.md"].decode())
    assert meta["sdk"] == "gradio" and {"evaluate", "metric"} <= set(meta["tags"])
    assert hub.publish_metric(metric_dir, "org/lareqa").changed is False
    assert res.changed

    rng = np.random.default_rng(0)
    scores = rng.normal(size=(6, 9))
    groups, qlangs = ["a", "a", "b", "b", "c", "c"], ["en", "de"] * 3
    cgroups = [["a"], ["a"], ["b"], ["b"], ["c"], ["c"], [], [], []]
    clangs = ["en", "de"] * 3 + ["en", "de", "en"]
    expected = compute_retrieval_metrics(scores, query_groups=groups, candidate_groups=cgroups, query_langs=qlangs,
                                         candidate_langs=clangs)
    metric = evaluate.load("org/lareqa")
    got = metric.compute(predictions=scores.tolist(), references=groups, query_langs=qlangs,
                         candidate_groups=cgroups, candidate_langs=clangs)
    assert got["pool"] == expected["pool"]
    assert got["matrix"]["map"] == expected["matrix"]["map"]
    assert got["mono"] == expected["mono"] and got["cross"] == expected["cross"]


def test_publish_demo_space(hub_server, tmp_path):
    demo = tmp_path / "demo"
    demo.mkdir()
    (demo / "app.py").write_text("import gradio as gr\n")
    (demo / "requirements.txt").write_text("hf-hybrid\n")
    (demo / "__pycache__").mkdir()
    (demo / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"x")
    res = hub.publish_demo(demo, "org/demo")
    files = hub_server.files("org/demo", repo_type="space")
    assert set(files) == {".gitattributes", "app.py", "requirements.txt", "README.md"}
    assert _yaml(files["README.md"].decode())["app_file"] == "app.py"
    assert res.url.endswith("/spaces/org/demo")
    assert hub.publish_demo(demo, "org/demo").changed is False


# ---------------------------------------------------------------------------------------------- bad input


def test_bad_repo_id(full_ckpt):
    for bad in ("noslash", "a/b/c", "org/na me", "org/-x", "org/a--b"):
        with pytest.raises(hub.InvalidRepoIdError, match="Invalid repo id"):
            hub.push(full_ckpt, bad)
    assert hub.main(["push", str(full_ckpt), "--repo-id", "noslash"]) == 2


def test_not_a_checkpoint(tmp_path, capfd):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(hub.NotACheckpointError, match="is not a checkpoint: expected config.json"):
        hub.push(tmp_path, "org/x")
    with pytest.raises(hub.NotACheckpointError, match="does not exist"):
        hub.push(tmp_path / "missing", "org/x")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(hub.NotACheckpointError, match="no weights"):
        hub.inspect_checkpoint(tmp_path)
    (tmp_path / "adapter_config.json").write_text("{}")
    with pytest.raises(hub.NotACheckpointError, match="no adapter weights"):
        hub.inspect_checkpoint(tmp_path)
    assert hub.main(["push", str(tmp_path / "missing"), "--repo-id", "org/x"]) == 2
    assert "does not exist" in capfd.readouterr().err
    with pytest.raises(hub.NotACheckpointError, match="no app.py"):
        hub.publish_demo(tmp_path, "org/demo")


def test_missing_and_wrong_token(hub_server, full_ckpt, monkeypatch):
    hub_server.require_token = TOKEN
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(hub.HubAuthError, match="HTTP 401 \\(no token was sent\\).*HF_TOKEN"):
        hub.push(full_ckpt, "org/auth")
    monkeypatch.setenv("HF_TOKEN", "hf_wrongWrongWrongWrongWrong")
    with pytest.raises(hub.HubAuthError, match="token was rejected") as info:
        hub.push(full_ckpt, "org/auth")
    assert "hf_wrong" not in str(info.value)
    assert hub_server.get_repo("org/auth") is None


def test_unreachable_endpoint(full_ckpt, tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "HF_ENDPOINT": f"http://127.0.0.1:{port}", "HF_HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "hf_hybrid.hub", "push", str(full_ckpt), "--repo-id", "org/x"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert f"the Hub at http://127.0.0.1:{port} is unreachable" in proc.stderr
    assert "HF_ENDPOINT" in proc.stderr and "Traceback" not in proc.stderr


def test_resolve_unknown_repo(hub_server):
    with pytest.raises(hub.HubError, match="not found"):
        hub.resolve_checkpoint("org/does-not-exist")


# ---------------------------------------------------------------------------------------------- Trainer


def _hub_trainer_class():
    """DualEncoderTrainer, whose Hub overrides (push after the atomic rename, our card) are under test."""
    from hf_hybrid.trainer import DualEncoderTrainer

    return DualEncoderTrainer


def test_trainer_pushes_during_training_with_card(hub_server, tmp_path, monkeypatch, xquad_sample, caplog):
    from hf_hybrid.arguments import HybridTrainingArguments
    from hf_hybrid.data import RetrievalPool, load_lareqa, split_by_article
    from hf_hybrid.loss import InfoNCELoss
    from hf_hybrid.model import DualEncoder

    hub_server.require_token = TOKEN
    monkeypatch.delenv("HF_TOKEN", raising=False)
    ds = load_lareqa(xquad_sample, languages=["en", "de"])
    train, test = split_by_article(ds, test_size=1, seed=0)
    enc = make_tiny_encoder(tmp_path / "enc", list(train["query"]) + list(train["positive"]))
    model = DualEncoder.from_pretrained(str(enc), query_max_length=24, passage_max_length=32)
    args = HybridTrainingArguments(
        output_dir=str(tmp_path / "run"), per_device_train_batch_size=8, max_steps=4, learning_rate=1e-3,
        save_strategy="steps", save_steps=2, eval_strategy="steps", eval_steps=2, logging_steps=1,
        report_to=[], seed=0, use_cpu=True, disable_tqdm=True, push_to_hub=True, hub_model_id="org/trained",
        hub_strategy="checkpoint", hub_token=TOKEN, hub_private_repo=True)
    pool = RetrievalPool.from_pairs(test, name="xquad-r")
    trainer = _hub_trainer_class()(
        model=model, args=args, train_dataset=train, eval_pool=pool, eval_dataset=pool,
        sampler_kwargs={"strategy": "hybrid", "alpha": 0.5}, loss=InfoNCELoss(0.05),
        training_config={"base_model": "bert-base-multilingual-cased", "strategy": "hybrid", "alpha": 0.5,
                         "batch_size": 8, "max_steps": 4, "languages": ["en", "de"]})
    with caplog.at_level(logging.INFO):
        trainer.train()
        trainer._finish_current_push()

    titles = [c.title for c in hub_server.commits("org/trained")]
    assert "Training in progress, step 2" in titles and "Training in progress, step 4" in titles
    files = hub_server.files("org/trained")
    assert {"README.md", "model.safetensors", "modules.json", "last-checkpoint/optimizer.pt",
            "last-checkpoint/model.safetensors"} <= set(files)
    assert not any(name.endswith("training_args.bin") for name in files)  # pickled args hold hub_token
    for name, data in files.items():
        assert TOKEN.encode() not in data, name
    assert TOKEN not in caplog.text
    meta = _yaml(files["README.md"].decode())
    assert meta["model-index"][0]["results"][0]["dataset"]["name"] == "xquad-r"
    assert "| strategy | hybrid |" in files["README.md"].decode()

    # the pushed model is the step-4 checkpoint, loadable by repo id with the token
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    local = DualEncoder.from_pretrained(str(tmp_path / "run" / "checkpoint-4")).encode_queries(TEXTS)
    np.testing.assert_allclose(_embed_st("org/trained"), local, atol=1e-6)

    # end of training: push_to_hub publishes output_dir (the final model) with the card
    n = len(hub_server.commits("org/trained"))
    trainer.push_to_hub()
    assert len(hub_server.commits("org/trained")) in (n, n + 1)
    assert hub_server.commits("org/trained")[0].title in ("End of training", "Training in progress, step 4")
