"""Issue 16: what push / trainer_push upload carries no absolute local path (the local files stay as they are).

Absolute paths in the files hf-hybrid writes (eval_results.json's output_dir, the training record's data paths
and base model, the card, an adapter's base_model_name_or_path) are rewritten in the uploaded bytes: an adapter's
local base becomes the Hub id the training record names (else its folder name, with a warning), other paths
their last component. Against the local Hub of tests/hub_server.py.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from hub_fixtures import TEXTS, hub_server, metrics_fixture  # noqa: F401 - fixtures
from tiny import make_tiny_encoder

from hf_hybrid.checkpoint import TRAINING_RECORD_NAME
from hf_hybrid.hub import push, write_model_card
from hf_hybrid.training.hub_push import trainer_push


def _record(base_model: str, train_data: str, model_config: dict) -> dict:
    return {"format_version": 2, "hf_hybrid_version": "0.1.0", "base_model": base_model, "languages": ["de", "en"],
            "data": {"train_data": train_data, "eval_data": None, "n_train_rows": 6, "n_train_groups": 3},
            "model": model_config, "training": {"learning_rate": 0.001, "max_steps": 2, "global_step": 2}}


@pytest.fixture
def adapter_run(tmp_path) -> tuple[Path, Path]:
    """A LoRA run's output_dir whose base model, data and eval results all sit at absolute local paths."""
    from hf_hybrid.modeling import DualEncoder, apply_lora

    base = make_tiny_encoder(tmp_path / "models" / "my-base", TEXTS).resolve()
    data = tmp_path / "data" / "train.jsonl"
    data.parent.mkdir()
    data.write_text("{}\n")
    model = DualEncoder.from_pretrained(str(base))
    apply_lora(model, r=4, alpha=8, verbose=False)
    run = tmp_path / "run"
    model.save_pretrained(run)
    (run / TRAINING_RECORD_NAME).write_text(json.dumps(_record(str(base), str(data.resolve()),
                                                               model.get_config_dict()), indent=2))
    (run / "eval_results.json").write_text(json.dumps({"before": None, "after": {"after_pool_map": 0.5},
                                                       "output_dir": str(run.resolve())}, indent=2))
    (run / "notes.md").write_text(f"trained on {data.resolve()} from `{base}`.\n")
    write_model_card(run, results=metrics_fixture())
    return run, base


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _assert_no_local_paths(files: dict[str, bytes], tmp_path: Path) -> None:
    roots = {str(tmp_path.resolve()), str(tmp_path), str(Path.home())}
    first = "/" + tmp_path.resolve().parts[1] + "/"  # e.g. /tmp/: no absolute path under it at all
    for name, data in files.items():
        text = data.decode("utf-8", errors="replace")
        for root in roots:
            assert root not in text, (name, root)
        assert first not in text.replace("https://", "").replace("http://", ""), name


def test_hub_push_uploads_no_absolute_paths(hub_server, adapter_run, tmp_path, caplog):
    run, _ = adapter_run
    before = _snapshot(run)
    assert str(tmp_path.resolve()) in (run / "adapter_config.json").read_text()  # the bug's precondition
    with caplog.at_level(logging.WARNING):
        push(run, "org/adapter")
    files = hub_server.files("org/adapter")
    assert {"adapter_config.json", "eval_results.json", TRAINING_RECORD_NAME, "README.md", "notes.md"} <= set(files)
    _assert_no_local_paths(files, tmp_path)
    assert json.loads(files["eval_results.json"])["output_dir"] == "run"
    record = json.loads(files[TRAINING_RECORD_NAME])
    assert record["data"]["train_data"] == "train.jsonl" and record["base_model"] == "my-base"
    # the adapter's local base has no Hub id anywhere: its folder name, and a warning that says so
    assert json.loads(files["adapter_config.json"])["base_model_name_or_path"] == "my-base"
    assert "my-base" in caplog.text and "local" in caplog.text
    assert _snapshot(run) == before  # the local files are untouched


def test_hub_adapter_base_becomes_the_recorded_hub_id(hub_server, adapter_run):
    run, _ = adapter_run
    record = json.loads((run / TRAINING_RECORD_NAME).read_text())
    record["base_model"] = "org/base-model"  # trained from a Hub model (loaded from its local snapshot)
    (run / TRAINING_RECORD_NAME).write_text(json.dumps(record))
    push(run, "org/adapter-hub")
    files = hub_server.files("org/adapter-hub")
    assert json.loads(files["adapter_config.json"])["base_model_name_or_path"] == "org/base-model"
    ours = json.loads(files["hf_hybrid_config.json"])
    assert ours["lora"]["query"]["base_model_name_or_path"] == "org/base-model"


def test_hub_cache_snapshot_path_becomes_its_hub_id(hub_server, adapter_run, tmp_path):
    run, base = adapter_run
    snapshot = tmp_path / "hf" / "hub" / "models--org--cached-base" / "snapshots" / ("a" * 40)
    shutil.copytree(base, snapshot)
    config = json.loads((run / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = str(snapshot)
    (run / "adapter_config.json").write_text(json.dumps(config))
    push(run, "org/adapter-cache")
    files = hub_server.files("org/adapter-cache")
    assert json.loads(files["adapter_config.json"])["base_model_name_or_path"] == "org/cached-base"


def test_hub_trainer_push_uploads_no_absolute_paths(hub_server, adapter_run, tmp_path):
    run, _ = adapter_run
    before = _snapshot(run)
    args = SimpleNamespace(output_dir=str(run), hub_strategy="every_save", hub_token=None, hub_revision=None,
                           hub_model_id="org/trained", hub_private_repo=False)
    trainer = SimpleNamespace(args=args, is_world_process_zero=lambda: True, state=SimpleNamespace(global_step=2),
                              last_eval_result=metrics_fixture(), hub_model_id="org/trained")
    trainer_push(trainer, None)
    files = hub_server.files("org/trained")
    assert "eval_results.json" in files
    _assert_no_local_paths(files, tmp_path)
    after = _snapshot(run)
    assert {k: v for k, v in after.items() if k != "README.md"} == \
        {k: v for k, v in before.items() if k != "README.md"}  # only the card is re-rendered locally
