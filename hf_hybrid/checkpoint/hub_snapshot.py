"""One Hub snapshot of an encoder: what to download, and whether the Hub may be asked at all.

Why: :func:`~hf_hybrid.checkpoint.resolve.resolve_model_dir` and the known-model sources
(:mod:`~hf_hybrid.checkpoint.known_sources`) fetch snapshots the same way: only what an encoder needs
(configs, tokenizer, safetensors; ``*.bin`` only for old repos without any safetensors), so the ONNX /
OpenVINO exports of a repo are not downloaded. ``huggingface_hub.snapshot_download`` does the work.

Example::

    folder = hub_snapshot("intfloat/multilingual-e5-small", local_files_only=True)  # the HF cache only
"""

from __future__ import annotations

import os
from pathlib import Path

ALLOW_PATTERNS = ["*.json", "*.txt", "*.model", "*.md", "*.jinja", "*.py", "*.safetensors"]
IGNORE_PATTERNS = ["onnx/*", "openvino/*", "*/onnx/*", "*/openvino/*"]
_TRUE = {"1", "ON", "YES", "TRUE"}


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` forbids network calls (the variable now, or as huggingface_hub read it)."""
    import huggingface_hub.constants

    return os.environ.get("HF_HUB_OFFLINE", "").upper() in _TRUE or bool(huggingface_hub.constants.HF_HUB_OFFLINE)


def hub_snapshot(name: str, *, revision: str | None = None, token: str | bool | None = None,
                 local_files_only: bool = False) -> Path:
    """The local snapshot folder of Hub repo ``name`` (downloaded unless ``local_files_only``).

    Raises what ``snapshot_download`` raises (``OSError`` subclasses for a miss or no network).
    """
    from huggingface_hub import snapshot_download

    def download(allow: list[str]) -> Path:
        return Path(snapshot_download(name, revision=revision, token=token, allow_patterns=allow,
                                      ignore_patterns=IGNORE_PATTERNS, local_files_only=local_files_only))

    local = download(ALLOW_PATTERNS)
    if not any(local.rglob("*.safetensors")):
        # Old repos ship only pytorch_model.bin (or adapter_model.bin).
        local = download([*ALLOW_PATTERNS, "*.bin"])
    return local
