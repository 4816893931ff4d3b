"""The one reader (and plain writer) of the JSON files of a checkpoint.

Why one: a damaged or truncated JSON file must give the same clear error, naming the file, wherever it
is read (loading a model, inspecting a checkpoint before a push, rendering its card), instead of a bare
``JSONDecodeError`` without a path. Callers pick the exception class that fits their context.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hf_hybrid.checkpoint.errors import ModelLoadError


def read_json(path: str | os.PathLike, *, error: type[Exception] = ModelLoadError, what: str = "checkpoint") -> Any:
    """Parse the JSON file at ``path``.

    A file that cannot be read or is not valid JSON raises ``error`` with a message that names the file
    and says that the ``what`` it belongs to is damaged.
    """
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise error(f"{path} is not valid JSON ({err}); the {what} is damaged") from err
    except (OSError, UnicodeDecodeError) as err:
        raise error(f"{path} could not be read ({err}); the {what} is incomplete or damaged") from err


def write_json(path: str | os.PathLike, data: Any, *, sort_keys: bool = False) -> Path:
    """Write ``data`` as indented UTF-8 JSON with a final newline, creating the parent folders.

    Not atomic: for files inside a directory that is published as a whole (see
    :func:`hf_hybrid.checkpoint.atomic.atomic_write_dir`); use ``atomic_write_json`` for a lone file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=sort_keys) + "\n", encoding="utf-8")
    return path
