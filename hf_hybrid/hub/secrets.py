"""Keeping what belongs to this machine out of what is published: Hub tokens and local paths.

Three guards: :func:`scrub_secrets` removes ``*token*`` / ``*password*`` / ``*secret*`` keys and
token-looking strings from anything rendered into a model card (a training record, a card's inputs),
:func:`refuse_secrets` refuses to upload a file that contains the token in use (e.g. a pickled
``TrainingArguments`` holding ``hub_token``) before anything is sent, and :func:`strip_local_paths`
rewrites absolute local paths (``/home/me/data/train.jsonl``) in the *uploaded bytes* of text files to
their last component (``train.jsonl``), a Hub cache snapshot to its repo id, and an adapter's local base
model to the Hub id the training record names; the local files are never changed.  Tokens are never logged.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hf_hybrid.checkpoint import TRAINING_RECORD_NAME, is_hub_id
from hf_hybrid.checkpoint.layout import TOKENIZER_FILES
from hf_hybrid.hub.errors import HubError

logger = logging.getLogger(__name__)

__all__ = ["neutral_path", "refuse_secrets", "scrub_secrets", "strip_local_paths", "tokens_in_use"]

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


# -- local paths -------------------------------------------------------------------------------------

# Text files whose uploaded bytes are rewritten; tokenizer files are data (a vocabulary may hold "/usr").
_TEXT_SUFFIXES = (".json", ".md", ".txt", ".yaml", ".yml")
_NEVER_REWRITE = frozenset(TOKENIZER_FILES) | {".gitattributes"}
_MAX_TEXT_BYTES = 32 * 2**20
# An absolute POSIX path inside free text (not part of a URL or a relative path), or a Windows one.
_POSIX_IN_TEXT = re.compile(r"(?<![\w.:/~\\-])/[\w.@+-]+(?:/[\w.@+=,-]*)*")
_WINDOWS_PATH = re.compile(r"(?<![\w])[A-Za-z]:[\\/][^\s\"'`|<>*?]*")
# First components of local absolute paths on machines other than this one (clusters, notebooks).
_LOCAL_ROOTS = {"home", "Users", "root", "tmp", "private", "var", "mnt", "media", "scratch", "data", "work",
                "workspace", "opt", "srv", "nfs", "gpfs", "lustre", "content", "kaggle"}
_HUB_CACHE_DIR = re.compile(r"^(models|datasets|spaces)--(.+)$")
_ADAPTER_BASE_KEY = "base_model_name_or_path"
_warned_bases: set[str] = set()  # one warning per local base and process (training pushes every checkpoint)


def _is_local_in_text(path: str) -> bool:
    first = path.strip("/").split("/", 1)[0]
    return bool(first) and (first in _LOCAL_ROOTS or os.path.isdir("/" + first))


def _is_absolute(value: str) -> bool:
    return (value.startswith("/") and len(value) > 1) or bool(_WINDOWS_PATH.fullmatch(value))


def neutral_path(path: str) -> str:
    """What an absolute local ``path`` becomes in an upload: a Hub cache snapshot's repo id
    (``.../models--org--name/snapshots/<sha>`` -> ``org/name``), else its last component."""
    parts = [p for p in re.split(r"[/\\]", path) if p]
    for i, part in enumerate(parts[:-2]):
        m = _HUB_CACHE_DIR.match(part)
        if m and parts[i + 1] == "snapshots":
            return "/".join(m.group(2).split("--"))
    return parts[-1] if parts and not parts[-1].endswith(":") else "<local path>"


def _strip_text(text: str) -> str:
    def posix(m: re.Match[str]) -> str:
        path = m.group(0).rstrip(".,")
        return neutral_path(path) + m.group(0)[len(path):] if _is_local_in_text(path) else m.group(0)

    return _WINDOWS_PATH.sub(lambda m: neutral_path(m.group(0)), _POSIX_IN_TEXT.sub(posix, text))


def _adapter_base(value: str, hub_base: str | None, name: str) -> str:
    neutral = neutral_path(value)
    if is_hub_id(neutral) and "/" in neutral:  # a Hub cache snapshot: its repo id
        return neutral
    if hub_base:
        return hub_base
    if value in _warned_bases:
        return neutral
    _warned_bases.add(value)
    logger.warning("%s: the adapter's base model is the local folder %s; the upload names it %r, which loads only "
                   "where a folder or Hub repo of that name exists. Publish the base model too (`hf-hybrid push "
                   "FOLDER --repo-id ORG/NAME`) and point the adapter at it, or train from a Hub model.",
                   name, value, neutral)
    return neutral


def _strip_json(value: Any, hub_base: str | None, name: str) -> Any:
    if isinstance(value, Mapping):
        return {k: (_adapter_base(v, hub_base, name) if k == _ADAPTER_BASE_KEY and isinstance(v, str)
                    and _is_absolute(v) else _strip_json(v, hub_base, name)) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_json(v, hub_base, name) for v in value]
    if isinstance(value, str):
        return neutral_path(value) if _is_absolute(value) and "\n" not in value else _strip_text(value)
    return value


def _recorded_hub_base(files: Mapping[str, Path | bytes]) -> str | None:
    """The training record's ``base_model`` when it is a Hub id (what an adapter's local base came from)."""
    src = files.get(TRAINING_RECORD_NAME)
    try:
        record = json.loads(src.read_bytes() if isinstance(src, Path) else src) if src is not None else {}
    except (OSError, ValueError):
        return None
    base = record.get("base_model") if isinstance(record, Mapping) else None
    return base if isinstance(base, str) and is_hub_id(base) else None


def strip_local_paths(files: Mapping[str, Path | bytes]) -> dict[str, Path | bytes]:
    """``files`` (repo path -> local file or bytes) with absolute local paths rewritten in their uploaded bytes.

    JSON files: every string value that is an absolute path becomes :func:`neutral_path` of it, paths inside
    other strings too; ``base_model_name_or_path`` (PEFT's ``adapter_config.json``, the ``lora`` section of
    ``hf_hybrid_config.json``) becomes the Hub repo id of a cache snapshot, else the training record's
    ``base_model`` when that is a Hub id, else the folder name, with a warning. Markdown, text and YAML: absolute
    paths under a local root (one that exists here, or ``/home``, ``/Users``, ``/tmp``, ...). Tokenizer files
    and binary files are published as they are. Unchanged files keep their local path (no copy in memory).
    """
    hub_base = _recorded_hub_base(files)
    out: dict[str, Path | bytes] = {}
    for rel, src in files.items():
        out[rel] = src
        name = rel.rsplit("/", 1)[-1]
        if not name.lower().endswith(_TEXT_SUFFIXES) or name in _NEVER_REWRITE:
            continue
        if isinstance(src, Path) and src.stat().st_size > _MAX_TEXT_BYTES:
            continue
        data = src.read_bytes() if isinstance(src, Path) else src
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        new = text
        if name.lower().endswith(".json"):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if parsed is not None:
                stripped = _strip_json(parsed, hub_base, rel)
                if stripped != parsed:
                    new = json.dumps(stripped, indent=2, ensure_ascii=False) + "\n"
        else:
            new = _strip_text(text)
        if new != text:
            out[rel] = new.encode("utf-8")
            logger.info("%s: local paths replaced in the uploaded copy (the local file is unchanged)", rel)
    return out
