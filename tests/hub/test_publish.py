"""Publishing (hf_hybrid.hub.publish), end to end against the local Hub-compatible server of tests/hub_server.py.

The real clients (huggingface_hub, sentence-transformers, transformers, peft, evaluate) download what
hf_hybrid.hub published; nothing of theirs is patched. The server is started by tests/conftest.py before
any HF library is imported (they read HF_ENDPOINT at import).
"""

from __future__ import annotations

import numpy as np
import pytest
from hub_fixtures import (  # noqa: F401 - fixtures
    REPO_ROOT,
    TEXTS,
    TOKEN,
    adapter_ckpt,
    embed_st,
    full_ckpt,
    hub_server,
    tiny_dir,
    yaml_header,
)

from hf_hybrid.checkpoint import (
    CARD_INPUTS_NAME,
    InvalidRepoIdError,
    ModelLoadError,
    NotACheckpointError,
    inspect_checkpoint,
    resolve_checkpoint,
)
from hf_hybrid.hub import HubAuthError, publish_demo, publish_metric, push


def test_push_full_checkpoint_and_reload(hub_server, full_ckpt):
    import torch
    from transformers import AutoModel, AutoTokenizer

    from hf_hybrid.modeling import DualEncoder

    result = push(full_ckpt, "org/tiny-hybrid")
    assert result.changed and len(hub_server.commits("org/tiny-hybrid")) == 2  # initial + ours: ONE commit
    files = hub_server.files("org/tiny-hybrid")
    assert {"README.md", "model.safetensors", "modules.json", "config.json"} <= set(files)
    assert CARD_INPUTS_NAME not in files
    assert 'SentenceTransformer("org/tiny-hybrid")' in files["README.md"].decode()  # rendered with the repo id

    local = DualEncoder.from_pretrained(str(full_ckpt)).encode_queries(TEXTS)
    np.testing.assert_allclose(embed_st("org/tiny-hybrid"), local, atol=1e-6)

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
    info = resolve_checkpoint("org/tiny-hybrid")
    assert info.weights == "full" and info.repo_id == "org/tiny-hybrid" and info.sentence_transformers

    # pushing the unchanged folder again makes no commit
    again = push(full_ckpt, "org/tiny-hybrid")
    assert not again.changed and again.commit_oid == result.commit_oid
    assert len(hub_server.commits("org/tiny-hybrid")) == 2


def test_push_adapter_and_reload_with_peft(hub_server, adapter_ckpt, tiny_dir, tmp_path):
    import json
    import shutil

    import torch
    from peft import PeftModel
    from transformers import AutoModel

    from hf_hybrid.checkpoint import TRAINING_RECORD_NAME
    from hf_hybrid.modeling import DualEncoder

    # The base model is on the Hub and the training record names it: the published adapter points there (its
    # local base path is never published: tests/reliability/test_hub_local_paths.py).
    push(tiny_dir, "org/tiny-base")
    folder = tmp_path / "adapter"
    shutil.copytree(adapter_ckpt, folder)
    (folder / TRAINING_RECORD_NAME).write_text(json.dumps({"base_model": "org/tiny-base"}))
    push(folder, "org/tiny-lora")
    files = hub_server.files("org/tiny-lora")
    assert {"adapter_config.json", "adapter_model.safetensors", "README.md"} <= set(files)
    assert "model.safetensors" not in files
    assert json.loads((folder / "adapter_config.json").read_text())["base_model_name_or_path"] == str(tiny_dir)

    info = resolve_checkpoint("org/tiny-lora")
    assert info.weights == "adapter" and info.base_model == "org/tiny-base"  # from adapter_config.json

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
    res = push(full_ckpt, "org/rev", private=True, revision="experiment")
    repo = hub_server.get_repo("org/rev")
    assert repo.private and "experiment" in repo.branches
    assert "model.safetensors" in hub_server.files("org/rev", revision="experiment")
    assert "model.safetensors" not in hub_server.files("org/rev")  # main untouched
    assert res.revision == "experiment"
    pr = push(full_ckpt, "org/pr-target", create_pr=True)
    assert pr.pr_url and pr.pr_url.endswith("/discussions/1")
    assert "model.safetensors" not in hub_server.files("org/pr-target")
    assert "model.safetensors" in hub_server.files("org/pr-target", revision="refs/pr/1")


def test_push_deletes_stale_files_in_the_same_commit(hub_server, full_ckpt, tmp_path):
    from huggingface_hub import HfApi

    HfApi().create_repo("org/stale")
    HfApi().upload_file(path_or_fileobj=b"old", path_in_repo="pytorch_model.bin", repo_id="org/stale")
    push(full_ckpt, "org/stale")
    assert "pytorch_model.bin" not in hub_server.files("org/stale")
    assert len(hub_server.commits("org/stale")) == 3


def test_publish_metric_space_and_load_with_evaluate(hub_server, tmp_path):
    import evaluate

    from hf_hybrid.evaluation import compute_retrieval_metrics

    metric_dir = REPO_ROOT / "spaces" / "lareqa_metric"
    if not (metric_dir / "app.py").is_file():
        pytest.skip("spaces/lareqa_metric is not written yet")
    res = publish_metric(metric_dir, "org/lareqa")
    files = hub_server.files("org/lareqa", repo_type="space")
    assert "lareqa.py" in files and "app.py" in files
    meta = yaml_header(files["README.md"].decode())
    assert meta["sdk"] == "gradio" and {"evaluate", "metric"} <= set(meta["tags"])
    assert publish_metric(metric_dir, "org/lareqa").changed is False
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
    res = publish_demo(demo, "org/demo")
    files = hub_server.files("org/demo", repo_type="space")
    assert set(files) == {".gitattributes", "app.py", "requirements.txt", "README.md"}
    assert yaml_header(files["README.md"].decode())["app_file"] == "app.py"
    assert res.url.endswith("/spaces/org/demo")
    assert publish_demo(demo, "org/demo").changed is False


def test_bad_repo_id(full_ckpt):
    for bad in ("noslash", "a/b/c", "org/na me", "org/-x", "org/a--b"):
        with pytest.raises(InvalidRepoIdError, match="Invalid repo id"):
            push(full_ckpt, bad)


def test_not_a_checkpoint(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(NotACheckpointError, match="is not a checkpoint: expected config.json"):
        push(tmp_path, "org/x")
    with pytest.raises(NotACheckpointError, match="does not exist"):
        push(tmp_path / "missing", "org/x")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(NotACheckpointError, match="no weights"):
        inspect_checkpoint(tmp_path)
    (tmp_path / "adapter_config.json").write_text("{}")
    with pytest.raises(NotACheckpointError, match="no adapter weights"):
        inspect_checkpoint(tmp_path)
    with pytest.raises(NotACheckpointError, match="no app.py"):
        publish_demo(tmp_path, "org/demo")


def test_missing_and_wrong_token(hub_server, full_ckpt, monkeypatch):
    hub_server.require_token = TOKEN
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(HubAuthError, match="HTTP 401 \\(no token was sent\\).*HF_TOKEN"):
        push(full_ckpt, "org/auth")
    monkeypatch.setenv("HF_TOKEN", "hf_wrongWrongWrongWrongWrong")
    with pytest.raises(HubAuthError, match="token was rejected") as info:
        push(full_ckpt, "org/auth")
    assert "hf_wrong" not in str(info.value)
    assert hub_server.get_repo("org/auth") is None


def test_resolve_unknown_repo(hub_server):
    with pytest.raises(ModelLoadError, match="not found"):
        resolve_checkpoint("org/does-not-exist")
