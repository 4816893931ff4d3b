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
