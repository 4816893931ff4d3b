"""The models the demo offers: the dropdown choices and their labels, the defaults of Search and Compare,
loading a choice (with a user-facing error), and the untrained demo encoder that works offline.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from demo_config import ENV_MODEL, ENV_MODEL_B, REPO_ROOT, DemoInputError, cache_dir, logger
from demo_corpus import bundled_pool
from hf_hybrid.checkpoint.layout import ADAPTER_CONFIG_NAME, HF_HYBRID_CONFIG_NAME, MODEL_CONFIG_NAME

DEMO_MODEL = "demo"  # value of the "untrained demo encoder" choice
DEMO_LABEL = "untrained demo encoder (random init): run the quickstart for a trained one"
QUICKSTART_DIR = REPO_ROOT / "outputs" / "quickstart"
QUICKSTART_INIT = QUICKSTART_DIR / "tiny-encoder-init"  # written by the quickstart before training


def _is_model_dir(path: Path) -> bool:
    """Whether ``path`` looks like a model folder (a config file is enough: the loader reports the rest).

    Lenient on purpose, unlike :func:`hf_hybrid.checkpoint.inspect_checkpoint`: a quickstart folder
    whose weights are missing still appears in the dropdown, and choosing it shows the loader's message.
    """
    return path.is_dir() and any((path / f).is_file()
                                 for f in (MODEL_CONFIG_NAME, HF_HYBRID_CONFIG_NAME, ADAPTER_CONFIG_NAME))


def model_label(name: str) -> str:
    """What the UI calls a model choice."""
    if name == DEMO_MODEL:
        return DEMO_LABEL
    p = Path(name)
    try:
        if p.resolve() == QUICKSTART_DIR.resolve():
            return f"quickstart, trained with hybrid batches ({name})"
        if p.resolve() == QUICKSTART_INIT.resolve():
            return f"quickstart, before training: random init ({name})"
    except OSError:
        pass
    return name


def model_choices() -> list[tuple[str, str]]:
    """Dropdown entries (label, value): env models, the quickstart checkpoints present, the demo encoder."""
    values: list[str] = []
    for env in (ENV_MODEL, ENV_MODEL_B):
        v = os.environ.get(env, "").strip()
        if v:
            values.append(v)
    for path in (QUICKSTART_DIR, QUICKSTART_INIT):
        if _is_model_dir(path):
            values.append(str(path))
    values.append(DEMO_MODEL)
    return [(model_label(v), v) for v in dict.fromkeys(values)]  # first occurrence of each, in order


def default_models() -> tuple[str, str]:
    """(model A, model B) for Search and Compare.

    A: ``$HF_HYBRID_DEMO_MODEL``, else the trained quickstart checkpoint, else the untrained demo encoder.
    B: ``$HF_HYBRID_DEMO_MODEL_B``, else the quickstart's random-init starting point (so Compare shows
    before/after hybrid training), else the same as A.
    """
    a = os.environ.get(ENV_MODEL, "").strip()
    if not a:
        a = str(QUICKSTART_DIR) if _is_model_dir(QUICKSTART_DIR) else DEMO_MODEL
    b = os.environ.get(ENV_MODEL_B, "").strip()
    if not b:
        b = str(QUICKSTART_INIT) if _is_model_dir(QUICKSTART_INIT) and a != str(QUICKSTART_INIT) else a
    return a, b


def build_default_demo_encoder() -> Path:
    """The untrained demo encoder on the bundled texts, built once into the cache directory (atomically)."""
    from hf_hybrid.modeling import build_tiny_encoder

    pool = bundled_pool()
    texts = list(pool.cand_texts) + list(pool.query_texts)
    key = hashlib.sha256("\0".join(texts).encode()).hexdigest()[:12]
    target = cache_dir() / f"demo-encoder-{key}"
    if not _is_model_dir(target):
        build_tiny_encoder(target, texts, seed=0)  # an atomic save: a racing process sees all or nothing
    return target


@dataclass
class LoadedModel:
    name: str
    label: str
    model: Any
    fingerprint: str
    root: Path | None = None

    @property
    def untrained(self) -> bool:
        return self.name == DEMO_MODEL


def _dir_fingerprint(root: Path) -> str:
    """Changes when the weights or settings in ``root`` change, so a retrained checkpoint gets a new index.

    File sizes and mtimes, not the weights' bytes (``hf_hybrid.evaluation.model_fingerprint``): cheap
    enough for every load, and the settings files (pooling, prompts) count too.
    """
    h = hashlib.sha256(str(root.resolve()).encode())
    for f in sorted(root.rglob("*")):
        if f.is_file() and f.suffix in {".safetensors", ".bin", ".json"}:
            st = f.stat()
            h.update(f"{f.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def load_model(name: str) -> LoadedModel:
    """Load a choice: ``demo``, a local checkpoint directory or a Hub id, with a user-facing error."""
    name = (name or "").strip()
    if not name:
        raise DemoInputError("Please choose a model (a local checkpoint directory or a Hugging Face Hub id).")
    try:
        from hf_hybrid.checkpoint import resolve_model_dir
        from hf_hybrid.modeling import DualEncoder
    except ImportError as err:  # pragma: no cover - packaging problem
        raise DemoInputError(f"hf_hybrid is not installed correctly ({err}); `pip install hf-hybrid`.") from None
    try:
        path = build_default_demo_encoder() if name == DEMO_MODEL else name
        model = DualEncoder.from_pretrained(path)
        root = resolve_model_dir(path)
    except Exception as err:  # any loader failure becomes a message; the log keeps the details
        logger.warning("could not load model %r", name, exc_info=True)
        msg = str(err).strip() or type(err).__name__
        if len(msg) > 600:
            msg = msg[:600] + "..."
        raise DemoInputError(
            f"Could not load the model {name!r}: {msg}\n\nUse a local checkpoint directory, a Hub id (needs the "
            f"Hub to be reachable), or the default '{DEMO_MODEL}'."
        ) from None
    model.eval()
    return LoadedModel(name, model_label(name), model, _dir_fingerprint(Path(root)), Path(root))
