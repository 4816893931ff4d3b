"""The models the demo offers: the allow-list set by the Space owner (the dropdown choices and their
labels), the defaults of Search and Compare, loading a choice (with a user-facing error), and the untrained
demo encoder that works offline.

A public Space must not load whatever a visitor types: a path would let anyone probe the server's
filesystem (a different message for a folder that exists), a Hub id would make the Space download
anything. So the choices are the owner's (:func:`allowed_models`), the dropdowns take no typed value, and
:func:`check_offered` refuses any other name before anything is looked up, always with
:data:`MODEL_NOT_OFFERED`, which does not repeat the name.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from demo_config import ENV_MODEL, ENV_MODEL_B, ENV_MODELS, REPO_ROOT, DemoInputError, cache_dir, logger
from demo_corpus import bundled_pool
from hf_hybrid.checkpoint.layout import ADAPTER_CONFIG_NAME, HF_HYBRID_CONFIG_NAME, MODEL_CONFIG_NAME

DEMO_MODEL = "demo"  # value of the "untrained demo encoder" choice
DEMO_LABEL = "untrained demo encoder (random init): run the quickstart for a trained one"
QUICKSTART_DIR = REPO_ROOT / "outputs" / "quickstart"
QUICKSTART_INIT = QUICKSTART_DIR / "tiny-encoder-init"  # written by the quickstart before training
MODEL_NOT_OFFERED = (f"This Space does not offer that model: choose one in the list. (The Space owner sets the "
                     f"list with {ENV_MODEL}, {ENV_MODEL_B} and {ENV_MODELS}.)")
NO_MODEL = "Please choose a model in the list."


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


def allowed_models() -> list[str]:
    """The models this Space offers, in dropdown order, as the Space owner configured them.

    ``$HF_HYBRID_DEMO_MODEL``, ``$HF_HYBRID_DEMO_MODEL_B``, each entry of ``$HF_HYBRID_DEMO_MODELS``
    (comma-separated), the quickstart checkpoints present, and the untrained demo encoder; each once.
    """
    values = [os.environ.get(env, "").strip() for env in (ENV_MODEL, ENV_MODEL_B)]
    values += [v.strip() for v in os.environ.get(ENV_MODELS, "").split(",")]
    values += [str(path) for path in (QUICKSTART_DIR, QUICKSTART_INIT) if _is_model_dir(path)]
    values.append(DEMO_MODEL)
    return list(dict.fromkeys(v for v in values if v))  # first occurrence of each, in order


def model_choices() -> list[tuple[str, str]]:
    """Dropdown entries (label, value): :func:`allowed_models` with their labels."""
    return [(model_label(v), v) for v in allowed_models()]


def check_offered(name: Any) -> str:
    """``name`` when the Space offers it, else :data:`MODEL_NOT_OFFERED` (:data:`NO_MODEL` when empty).

    The exact value of a choice, compared as a string: no path is resolved or looked up, so the answer
    is the same for a folder that exists, one that does not, and a Hub id.
    """
    if name is None or (isinstance(name, str) and not name.strip()):
        raise DemoInputError(NO_MODEL)
    if not isinstance(name, str) or name.strip() not in allowed_models():
        raise DemoInputError(MODEL_NOT_OFFERED)
    return name.strip()


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


def load_model(name: Any) -> LoadedModel:
    """Load a choice of :func:`allowed_models` (``demo``, a local checkpoint directory or a Hub id), with a
    user-facing error; any other name is refused by :func:`check_offered` before anything is looked up."""
    name = check_offered(name)
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
            f"Could not load the model {name!r}: {msg}\n\nChoose another model in the list; the Space owner "
            f"can fix this one (a Hub id needs the Hub to be reachable)."
        ) from None
    model.eval()
    return LoadedModel(name, model_label(name), model, _dir_fingerprint(Path(root)), Path(root))
