"""What the demo Space is configured by: environment variables, input limits, paths, its cache folder,
and :class:`DemoInputError`, the one error whose message a user sees.

Every other module of the Space imports this one first: it also makes ``hf_hybrid`` importable from a
repository checkout that has not installed it (a deployed Space installs it from ``requirements.txt``).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1] if len(HERE.parents) > 1 else HERE  # a Space has the app at its root

try:  # The Space installs hf-hybrid; a repo checkout may not have it installed.
    import hf_hybrid  # noqa: F401
except ImportError:  # pragma: no cover - depends on how the app is started
    if (REPO_ROOT / "hf_hybrid" / "__init__.py").is_file():
        sys.path.insert(0, str(REPO_ROOT))

logger = logging.getLogger("hf_hybrid.demo")

# Environment variables (documented in the Space README).
ENV_MODEL = "HF_HYBRID_DEMO_MODEL"
ENV_MODEL_B = "HF_HYBRID_DEMO_MODEL_B"
ENV_MODELS = "HF_HYBRID_DEMO_MODELS"  # more models to offer, comma-separated
ENV_CORPUS = "HF_HYBRID_DEMO_CORPUS"
ENV_CACHE = "HF_HYBRID_DEMO_CACHE"
ENV_QUERY = "HF_HYBRID_DEMO_QUERY"  # the prefilled query (default: demo_corpus.DEFAULT_QUERY on the bundled corpus)

# Input limits: they keep one request from tying up the (shared, CPU) Space for minutes.
MAX_QUERY_CHARS = 500
MAX_PASSAGE_CHARS = 2000
MAX_PASSAGES = 20_000
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_TOP_K = 100
MAX_TORCH_THREADS = 2  # encoding threads: a Space's free CPU has 2 cores, more only adds contention


class DemoInputError(ValueError):
    """Bad user input, a model the Space does not offer, or an unusable one; the message is shown as it is."""


def cache_dir() -> Path:
    """``$HF_HYBRID_DEMO_CACHE``, else ``$XDG_CACHE_HOME/hf_hybrid_demo`` (the demo encoder, the indexes)."""
    root = os.environ.get(ENV_CACHE) or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "hf_hybrid_demo"
    )
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def limit_torch_threads() -> int:
    """Cap torch's intra-op threads at :data:`MAX_TORCH_THREADS` (never raise them); returns the number used."""
    import torch

    threads = max(1, min(torch.get_num_threads(), MAX_TORCH_THREADS))
    if threads != torch.get_num_threads():
        torch.set_num_threads(threads)
    return threads
