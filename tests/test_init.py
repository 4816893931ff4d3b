"""The public API: every name in hf_hybrid.__all__ resolves, and import stays light."""

import subprocess
import sys

import hf_hybrid


def test_every_export_resolves():
    for name in hf_hybrid.__all__:
        assert getattr(hf_hybrid, name) is not None, name


def test_import_is_light():
    code = "import sys, hf_hybrid; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_exports_are_the_user_facing_names_only():
    assert len(hf_hybrid.__all__) <= 30
    for internal in ("GroupIndex", "PairDataset", "EmbeddingCache", "model_fingerprint", "resolve_checkpoint",
                     "build_model_card", "compute_retrieval_metrics", "DualEncoderConfig"):
        assert internal not in hf_hybrid.__all__, internal


def test_python_dash_m_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "hf_hybrid", "--help"], capture_output=True, text=True, check=True)
    for command in ("train", "evaluate", "push", "publish-metric", "publish-demo", "card", "resolve"):
        assert command in out.stdout
    bad = subprocess.run([sys.executable, "-m", "hf_hybrid", "nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown command 'nope'" in bad.stderr
