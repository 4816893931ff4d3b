"""Keeping Hub tokens out of what is published.

Two guards: :func:`scrub_secrets` removes ``*token*`` / ``*password*`` / ``*secret*`` keys and
token-looking strings from anything rendered into a model card (a training record, a card's inputs), and
:func:`refuse_secrets` refuses to upload a file that contains the token in use (e.g. a pickled
``TrainingArguments`` holding ``hub_token``) before anything is sent.  Tokens are never logged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hf_hybrid.hub.errors import HubError

__all__ = ["refuse_secrets", "scrub_secrets", "tokens_in_use"]

_TOKEN_RE = re.compile(r"hf_[A-Za-z0-9]{20,}")
_SECRET_KEY_RE = re.compile(r"token|password|secret|api_key|apikey", re.IGNORECASE)
# Tensor blobs larger than this are not scanned: tokens live in text files and pickles, not in weights.
_MAX_SCAN_BYTES = 64 * 2**20
_TENSOR_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


def scrub_secrets(value: Any, secrets: Sequence[str] = ()) -> Any:
    """Drop ``*token*``/``*password*``/``*secret*`` keys and blank out Hub-token-looking strings."""
    if isinstance(value, Mapping):
        return {k: scrub_secrets(v, secrets) for k, v in value.items() if not _SECRET_KEY_RE.search(str(k))}
    if isinstance(value, (list, tuple)):
        return [scrub_secrets(v, secrets) for v in value]
    if isinstance(value, str):
        for s in secrets:
            if s:
                value = value.replace(s, "<redacted>")
        return _TOKEN_RE.sub("<redacted>", value)
    return value


def tokens_in_use(token: str | bool | None) -> list[str]:
    """The explicit ``token`` (if a string) and the stored one (``HF_TOKEN`` / ``hf auth login``)."""
    from huggingface_hub.utils import get_token

    found = [token] if isinstance(token, str) and token else []
    try:
        stored = get_token()
    except Exception:  # noqa: BLE001 - a broken token file must not block publishing
        stored = None
    if stored and stored not in found:
        found.append(stored)
    return found


def refuse_secrets(files: Mapping[str, Path | bytes], secrets: Sequence[str]) -> None:
    """Raise :class:`HubError` if a file to publish contains one of ``secrets`` (the tokens in use)."""
    needles = [s.encode() for s in secrets if s and len(s) >= 8]
    if not needles:
        return
    for rel, src in files.items():
        if isinstance(src, Path):
            if src.stat().st_size > _MAX_SCAN_BYTES and src.suffix in _TENSOR_SUFFIXES:
                continue
            data = src.read_bytes()
        else:
            data = src
        if any(n in data for n in needles):
            raise HubError(f"Refusing to upload {rel}: it contains your Hub token. Remove the token from it "
                           "(e.g. pass the token through HF_TOKEN rather than TrainingArguments.hub_token).")
