"""Tests for hf_hybrid/arguments.py: config files, flag overrides, unknown keys."""

from __future__ import annotations

import pytest

from hf_hybrid.arguments import parse_args


def test_yaml_then_flags(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("alpha: 0.3\nstrategy: x-y\nlanguages: [en, de]\noutput_dir: out\nmax_steps: 5\n")
    m, d, t = parse_args([str(cfg), "--alpha", "0.7"])
    assert t.alpha == 0.7 and t.strategy == "x-y" and t.max_steps == 5
    assert d.languages == ["en", "de"] and m.model_name_or_path == "demo"


def test_unknown_key_names_key_and_file(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("aplha: 0.3\n")
    with pytest.raises(SystemExit, match=r"c.yaml: unknown key\(s\) 'aplha' \(did you mean 'alpha'\?\)"):
        parse_args([str(cfg)])


def test_unknown_flag():
    with pytest.raises(SystemExit, match=r"unknown argument\(s\) \['--nope'"):
        parse_args(["--output_dir", "x", "--nope", "1"])


def test_json_config_and_missing_file(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text('{"alpha": 0.25, "output_dir": "o"}')
    assert parse_args([str(cfg)])[2].alpha == 0.25
    with pytest.raises(SystemExit, match="not found"):
        parse_args([str(tmp_path / "missing.yaml")])
