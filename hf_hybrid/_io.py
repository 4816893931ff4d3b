"""Atomic file writes shared by the package: write a temporary sibling, then rename it into place.

A rename within one directory is atomic, so a reader (or a crashed run's successor) sees either the old
file or the complete new one, never a truncated file. Whole checkpoint folders use
:func:`hf_hybrid.model.atomic_write_dir` instead.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, creating the parent folder."""
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
