"""The manifest of a converted directory: every file's size and SHA-256, checked before each reuse.

Why: the conversion is cached and read by later runs, which must not load a damaged copy (a truncated
``model.safetensors`` from a full disk, a deleted ``tokenizer.json``, an edited config): such a copy can
load and silently give other embeddings. The manifest is written last, inside the directory that is
published atomically, so a directory without one is unfinished. Checking hashes every file (about 0.5 s
for the 470 MB of multilingual-e5-small on one core); sizes and names are compared first.

Example::

    write_manifest(folder)
    manifest_problem(folder)  # None, or e.g. "model.safetensors has 1000 bytes, the manifest says 470637416"
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from hf_hybrid.checkpoint.errors import ModelLoadError
from hf_hybrid.checkpoint.jsonfile import read_json, write_json

MANIFEST_NAME = "hf_hybrid_manifest.json"
MANIFEST_VERSION = 1


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and p.name != MANIFEST_NAME)


def write_manifest(folder: str | os.PathLike) -> Path:
    """Record every file under ``folder`` (size, SHA-256) in ``hf_hybrid_manifest.json``; call it last."""
    folder = Path(folder)
    files = {name: {"size": (folder / name).stat().st_size, "sha256": file_sha256(folder / name)}
             for name in _files(folder)}
    return write_json(folder / MANIFEST_NAME, {"version": MANIFEST_VERSION, "files": files})


def manifest_problem(folder: str | os.PathLike) -> str | None:
    """Why ``folder`` does not match its manifest (missing, unfinished, changed), or None when it does."""
    folder = Path(folder)
    if not folder.is_dir():
        return f"{folder} does not exist"
    path = folder / MANIFEST_NAME
    if not path.is_file():
        return f"{path.name} is missing (an unfinished or foreign directory)"
    try:
        manifest = read_json(path, what="converted model")
        files = manifest["files"]
        expected = {name: (int(e["size"]), str(e["sha256"])) for name, e in files.items()}
    except (ModelLoadError, KeyError, TypeError, ValueError, AttributeError) as err:
        return f"{path.name} is damaged ({err})"
    present = set(_files(folder))
    if missing := sorted(set(expected) - present):
        return f"{', '.join(missing)} missing"
    if extra := sorted(present - set(expected)):
        return f"{', '.join(extra)} not in the manifest"
    for name, (size, _) in expected.items():
        if (actual := (folder / name).stat().st_size) != size:
            return f"{name} has {actual} bytes, the manifest says {size}"
    for name, (_, digest) in expected.items():
        if file_sha256(folder / name) != digest:
            return f"{name} was changed (its SHA-256 differs from the manifest's)"
    return None
