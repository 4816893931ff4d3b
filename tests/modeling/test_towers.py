"""hf_hybrid.modeling.towers: where a tower lives in a checkpoint, and loading one (plain encoder or base + adapter)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from transformers import AutoModel

from hf_hybrid.checkpoint import ModelLoadError
from hf_hybrid.modeling.towers import (
    TOWER_SLOTS,
    AdapterBase,
    TowerSlot,
    adapter_base,
    is_adapter_dir,
    is_peft,
    load_tower,
    present_towers,
    unwrap,
)


def _write_json(path: Path, obj) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return path


def _peft_config(folder: Path, base: str | None = "/peft/base") -> Path:
    return _write_json(folder / "adapter_config.json", {"peft_type": "LORA", "base_model_name_or_path": base})


def _ours(folder: Path, lora: dict | None) -> Path:
    return _write_json(folder / "hf_hybrid_config.json", {"pooling": "mean", "lora": lora})


# ---------------------------------------------------------------- slots


def test_tower_slots():
    assert TOWER_SLOTS == (TowerSlot("encoder", "query", ""),
                           TowerSlot("passage_encoder", "passage", "passage_encoder"))
    root = Path("/ckpt")
    assert TOWER_SLOTS[0].folder(root) == root
    assert TOWER_SLOTS[1].folder(root) == root / "passage_encoder"


def test_present_towers():
    q, p = nn.Linear(1, 1), nn.Linear(1, 1)
    both = present_towers(SimpleNamespace(encoder=q, passage_encoder=p))
    assert [(slot.attr, tower) for slot, tower in both] == [("encoder", q), ("passage_encoder", p)]
    assert present_towers(SimpleNamespace(encoder=q, passage_encoder=None)) == [(TOWER_SLOTS[0], q)]
    assert present_towers(SimpleNamespace(encoder=q)) == [(TOWER_SLOTS[0], q)]  # no attribute at all
    assert present_towers(object()) == []


# ---------------------------------------------------------------- adapter folders


def test_is_adapter_dir(tmp_path):
    assert not is_adapter_dir(tmp_path)
    _peft_config(tmp_path)
    assert is_adapter_dir(tmp_path)
    (tmp_path / "config.json").write_text("{}")  # a full encoder that also carries an adapter config
    assert not is_adapter_dir(tmp_path)


def test_adapter_base_from_peft_config(tmp_path):
    _peft_config(tmp_path, "org/base-model")
    assert adapter_base(tmp_path) == AdapterBase("org/base-model", "")


def test_adapter_base_prefers_our_record_with_its_subfolder(tmp_path):
    _peft_config(tmp_path, "/somewhere/else")
    _ours(tmp_path, {"query": {"base_model_name_or_path": "/local/base", "base_subfolder": "passage_encoder"}})
    assert adapter_base(tmp_path) == AdapterBase("/local/base", "passage_encoder")
    _ours(tmp_path, {"query": {"base_model_name_or_path": "org/base"}})  # no subfolder recorded
    assert adapter_base(tmp_path) == AdapterBase("org/base", "")


def test_passage_adapter_reads_the_passage_entry_of_the_parent_record(tmp_path):
    _ours(tmp_path, {"query": {"base_model_name_or_path": "org/q-base"},
                     "passage": {"base_model_name_or_path": "org/p-base", "base_subfolder": "sub"}})
    _peft_config(tmp_path, "org/peft-q")
    passage = tmp_path / "passage_encoder"
    _peft_config(passage, "org/peft-p")
    assert adapter_base(tmp_path) == AdapterBase("org/q-base", "")
    assert adapter_base(passage) == AdapterBase("org/p-base", "sub")
    # a subfolder of another name does not look at its parent's record
    other = tmp_path / "other"
    _peft_config(other, "org/peft-other")
    assert adapter_base(other) == AdapterBase("org/peft-other", "")


@pytest.mark.parametrize("lora", [None, {}, {"passage": {"base_model_name_or_path": "org/p"}},
                                  {"query": {"base_model_name_or_path": ""}}, {"query": None}])
def test_our_record_without_a_base_falls_back_to_peft(tmp_path, lora):
    _peft_config(tmp_path, "org/peft-base")
    _ours(tmp_path, lora)
    assert adapter_base(tmp_path) == AdapterBase("org/peft-base", "")


@pytest.mark.parametrize("base", [None, ""])
def test_no_base_anywhere_is_a_model_load_error(tmp_path, base):
    _peft_config(tmp_path, base)
    with pytest.raises(ModelLoadError) as info:
        adapter_base(tmp_path)
    assert str(info.value) == (f"{tmp_path / 'adapter_config.json'} has no base_model_name_or_path: cannot find the "
                               "base model")


def test_adapter_base_directory(tmp_path):
    (tmp_path / "base" / "inner").mkdir(parents=True)
    assert AdapterBase(str(tmp_path / "base")).directory() == tmp_path / "base"
    assert AdapterBase(str(tmp_path / "base"), "inner").directory() == tmp_path / "base" / "inner"
    with pytest.raises(ModelLoadError, match="no such directory"):
        AdapterBase(str(tmp_path / "missing")).directory()


# ---------------------------------------------------------------- loading


def _hidden(model: nn.Module) -> torch.Tensor:
    ids = torch.tensor([[2, 7, 9, 11, 3]])
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state


@pytest.fixture(scope="module")
def adapter(tmp_path_factory, tiny_dir):
    """A LoRA adapter on the tiny encoder whose weights change the output, and the in-memory model it came from."""
    from peft import LoraConfig, get_peft_model

    peft_model = get_peft_model(AutoModel.from_pretrained(str(tiny_dir)),
                                LoraConfig(r=2, lora_alpha=4, target_modules=["query", "value"]))
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5, generator=torch.Generator().manual_seed(0))
    out = tmp_path_factory.mktemp("adapter") / "lora"
    peft_model.save_pretrained(str(out))
    peft_model.eval()
    return out, _hidden(peft_model)


def test_load_a_plain_encoder(tiny_dir, tmp_path, monkeypatch):
    tower = load_tower(tiny_dir)
    assert not is_peft(tower) and unwrap(tower) is tower
    torch.testing.assert_close(_hidden(tower), _hidden(AutoModel.from_pretrained(str(tiny_dir))))
    # a relative path is recorded as an absolute one, so adapters saved from the tower find their base anywhere
    shutil.copytree(tiny_dir, tmp_path / "ckpt" / "enc")
    monkeypatch.chdir(tmp_path)
    tower = load_tower("ckpt", subfolder="enc")
    assert tower.name_or_path == tower.config._name_or_path == str((tmp_path / "ckpt" / "enc").resolve())
    assert load_tower(tmp_path / "ckpt" / "enc", dtype=torch.float64).dtype == torch.float64


def test_a_missing_encoder_is_a_model_load_error(tmp_path):
    with pytest.raises(ModelLoadError, match=re.escape(f"could not load the encoder in {tmp_path / 'missing'}: ")):
        load_tower(tmp_path / "missing")


def test_a_folder_without_config_is_a_model_load_error(tmp_path):
    with pytest.raises(ModelLoadError, match="could not load the encoder in"):
        load_tower(tmp_path)


def test_load_an_adapter_as_base_plus_frozen_adapter(adapter, tiny_dir):
    folder, expected = adapter
    assert is_adapter_dir(folder)
    assert adapter_base(folder) == AdapterBase(str(tiny_dir), "")  # PEFT recorded where the base was
    tower = load_tower(folder)
    assert is_peft(tower)
    assert not any(p.requires_grad for p in tower.parameters())  # loaded for inference
    torch.testing.assert_close(_hidden(tower), expected)
    base = unwrap(tower)
    assert not is_peft(base) and type(base).__name__ == "BertModel"
    # the adapter acts: the bare base model embeds differently
    assert not torch.allclose(_hidden(AutoModel.from_pretrained(str(tiny_dir))), expected)


def test_our_record_locates_a_base_inside_a_subfolder(adapter, tiny_dir, tmp_path):
    src, expected = adapter
    folder = tmp_path / "adapter"
    shutil.copytree(src, folder)
    # PEFT's record points nowhere; ours names the base inside a subfolder of a local directory
    cfg = json.loads((folder / "adapter_config.json").read_text())
    _write_json(folder / "adapter_config.json", {**cfg, "base_model_name_or_path": str(tmp_path / "gone")})
    shutil.copytree(tiny_dir, tmp_path / "run" / "passage_encoder")
    _ours(folder, {"query": {"base_model_name_or_path": str(tmp_path / "run"), "base_subfolder": "passage_encoder"}})
    torch.testing.assert_close(_hidden(load_tower(folder)), expected)
    (folder / "hf_hybrid_config.json").unlink()
    with pytest.raises(ModelLoadError, match="no such directory"):
        load_tower(folder)
