"""Atomic writes: a single file, or a whole model directory.

Why by hand: neither transformers nor sentence-transformers saves atomically, and a killed job must not
leave a file or a directory that readers accept but that holds half the data (``docs/design.md``
section 4). Both writers build the new content beside the target and rename it into place: a rename
within one filesystem is atomic, so a reader (or a crashed run's successor) sees either the old content
or the complete new one.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hf_hybrid.checkpoint.layout import MARKER_ENTRIES, is_managed


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary sibling, then rename), creating the parent folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
    return path


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (non-JSON values via ``str``) atomically."""
    return atomic_write_bytes(path, json.dumps(obj, indent=2, default=str).encode("utf-8"))


def atomic_write_dir(target: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Run ``write(tmp)`` on a fresh sibling directory, then publish it at ``target``.

    * ``target`` missing or empty: one ``rename(2)``, atomic.
    * ``target`` non-empty (e.g. Trainer's ``output_dir`` that also holds ``checkpoint-*``): entries we
      do not own are kept; the marker files that make loaders accept the directory (``config.json``,
      ``modules.json``, ``adapter_config.json``, ``hf_hybrid_config.json``...) are removed first and put
      back last, so at every instant the directory is either complete or visibly incomplete. Entries a
      save owns (:data:`~hf_hybrid.checkpoint.layout.MANAGED_ENTRIES`) that the new save lacks are removed.

    If ``write`` raises, nothing is published and the temporary directory is removed.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        write(tmp)
        if not target.exists() or (target.is_dir() and not any(target.iterdir())):
            os.replace(tmp, target)  # rename(2) atomically replaces an empty directory
            return target
        if not target.is_dir():
            raise NotADirectoryError(f"cannot save a model to {target}: it exists and is not a directory")
        trash = tmp / f".trash-{uuid.uuid4().hex[:8]}"
        trash.mkdir()
        new = sorted(p.name for p in tmp.iterdir() if p != trash)
        for name in MARKER_ENTRIES:
            if (target / name).exists():
                os.replace(target / name, trash / name)
        for entry in list(target.iterdir()):
            if is_managed(entry.name) and entry.name not in new:
                os.replace(entry, trash / entry.name)
        ordered = [n for n in new if n not in MARKER_ENTRIES] + [n for n in MARKER_ENTRIES if n in new]
        for name in ordered:
            dst = target / name
            if dst.is_dir() and not dst.is_symlink():
                os.replace(dst, trash / f"{name}.{uuid.uuid4().hex[:6]}")
            os.replace(tmp / name, dst)
        return target
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
