"""Publishing to the Hugging Face Hub: checkpoints, LoRA adapters, the metric Space and the demo Space.

Everything goes through ``huggingface_hub`` (``HfApi.create_repo`` / ``create_commit``), so ``HF_ENDPOINT``,
``HF_TOKEN``, ``hf auth login`` and private mirrors work as they do for every other HF tool. What this
module adds, and why:

- **one commit per publish** (:func:`commit_files`): weights, configs, tokenizer and the model card travel
  in a single ``create_commit``, so a repo never shows weights without their card (``upload_folder`` may
  split a large folder into several commits when ``hf_xet`` is installed);
- **no empty commits**: ``create_commit`` drops files whose git blob id matches the remote one, and the card
  is rendered deterministically, so re-publishing an unchanged folder is a no-op (``PushResult.changed``);
- **the card re-rendered with the repo id** (:mod:`hf_hybrid.hub.card`), so its usage snippets name it;
- **no token leaks** (:mod:`hf_hybrid.hub.secrets`) and **clear errors** (:mod:`hf_hybrid.hub.errors`).

The checkpoint layout it publishes is ``docs/design.md`` section 4.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_hybrid.checkpoint import (
    CARD_INPUTS_NAME,
    SAMPLER_STATE_NAME,
    CheckpointInfo,
    NotACheckpointError,
    inspect_checkpoint,
    read_json,
    validate_repo_id,
)
from hf_hybrid.checkpoint.layout import (
    ADAPTER_CONFIG_NAME,
    ADAPTER_WEIGHT_FILES,
    MODEL_CONFIG_NAME,
    MODULES_NAME,
    WEIGHT_FILES,
    is_managed,
)
from hf_hybrid.checkpoint.st_format import read_modules
from hf_hybrid.hub.card import read_record, render_card
from hf_hybrid.hub.errors import HubError, endpoint_of, hub_errors
from hf_hybrid.hub.secrets import refuse_secrets, strip_local_paths, tokens_in_use

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_IGNORE", "RESUME_STATE_FILES", "PushResult", "checkpoint_files", "collect_files", "commit_files",
           "other_model_folders", "push", "publish_demo", "publish_metric"]

#: What a training run needs to resume, but a published model does not (published only on request:
#: ``trainer_push(include_resume_state=True)``).
RESUME_STATE_FILES = ["optimizer.pt", "scheduler.pt", "scaler.pt", "rng_state*.pth", "trainer_state.json",
                      SAMPLER_STATE_NAME]
#: Files a published model does not need: the resume states, ``training_args.bin`` (a pickle of
#: ``TrainingArguments`` that holds ``hub_token`` in clear text when one is set), and the card's render
#: inputs (local bookkeeping: the rendered card itself is published).
DEFAULT_IGNORE = [".git", "__pycache__", "*.pyc", ".DS_Store", "*.lock", ".staging-*", "checkpoint-*", "runs",
                  "wandb", ".cache", "training_args.bin", CARD_INPUTS_NAME, *RESUME_STATE_FILES]
SPACE_IGNORE = [".git", "__pycache__", "*.pyc", ".DS_Store", "flagged", ".gradio", ".cache"]
# Remote files a publish never deletes, even when the folder lacks them.
_KEEP_REMOTE = (".gitattributes",)
# A sub-folder holding one of these is a model of its own (unless the checkpoint layout owns it).
_MODEL_MARKERS = (MODEL_CONFIG_NAME, ADAPTER_CONFIG_NAME, MODULES_NAME, *WEIGHT_FILES, *ADAPTER_WEIGHT_FILES)


@dataclass(frozen=True)
class PushResult:
    """Outcome of a publish: ``changed`` is False when the repo already held exactly these files."""

    repo_id: str
    repo_type: str
    revision: str
    commit_oid: str
    commit_url: str
    changed: bool
    pr_url: str | None = None
    files: tuple[str, ...] = field(default_factory=tuple)

    @property
    def url(self) -> str:
        from huggingface_hub import constants

        prefix = "" if self.repo_type == "model" else f"{self.repo_type}s/"
        return f"{constants.ENDPOINT}/{prefix}{self.repo_id}"


def collect_files(folder: Path, ignore: Sequence[str]) -> dict[str, Path]:
    """Files under ``folder`` by posix relative path; a pattern matching any path component drops it
    (so ``checkpoint-*`` drops whole sub-folders and ``training_args.bin`` drops it at any depth)."""
    files: dict[str, Path] = {}
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        rel = p.relative_to(folder).as_posix()
        if any(fnmatch.fnmatch(part, pat) for part in rel.split("/") for pat in ignore):
            continue
        if p.name.startswith(".") and ".tmp" in p.name:
            continue  # atomic-write temporaries (.<name>.tmp<pid>)
        files[rel] = p
    return files


def other_model_folders(folder: Path, ignore: Sequence[str] = ()) -> list[str]:
    """Top-level sub-folders of the checkpoint ``folder`` that hold a model of their own, not a part of it.

    The layout's own sub-folders (``passage_encoder/``, ``1_Pooling/``, ..., those ``modules.json`` names)
    belong to the checkpoint; any other sub-folder with a model file at any depth (``config.json``, weights,
    ``adapter_config.json``, ``modules.json``) is another model: the untrained ``tiny-encoder-init/`` a tiny
    run starts from, a LoRA run's ``merged/`` export. Folders ``ignore`` drops anyway are not listed.
    """
    own = {str(m.get("path")).strip("/") for m in read_modules(folder) if m.get("path")}
    found = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        if sub.name in own or is_managed(sub.name) or any(fnmatch.fnmatch(sub.name, pat) for pat in ignore):
            continue
        if any(next(sub.rglob(marker), None) is not None for marker in _MODEL_MARKERS):
            found.append(sub.name)
    return found


def checkpoint_files(folder: Path, ignore: Sequence[str]) -> dict[str, Path]:
    """:func:`collect_files` of a checkpoint folder without the other models inside it
    (:func:`other_model_folders`): publish one of those by pushing its own folder."""
    others = other_model_folders(folder, ignore)
    for name in others:
        logger.info("Not publishing %s/: it is another model, not part of the checkpoint in %s (push it on its "
                    "own to publish it)", name, folder)
    return {rel: src for rel, src in collect_files(folder, ignore).items() if rel.split("/", 1)[0] not in others}


def _create_repo(api: Any, repo_id: str, repo_type: str, private: bool, space_sdk: str | None) -> bool:
    """Create the repo if it does not exist; True when this call created it (so a failed push may delete it)."""
    from huggingface_hub.errors import HfHubHTTPError

    try:
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=False,
                        **({"space_sdk": space_sdk} if repo_type == "space" else {}))
        return True
    except HfHubHTTPError as err:
        status = getattr(getattr(err, "response", None), "status_code", None)
        if status == 409:
            return False  # it exists
        if status in (401, 402, 403):  # no right to create: it may exist and accept our commit anyway
            try:
                api.repo_info(repo_id, repo_type=repo_type)
            except HfHubHTTPError:
                raise err from None  # it does not: the refusal to create it is the error to report
            return False
        raise


def _delete_created_repo(api: Any, repo_id: str, repo_type: str) -> str:
    """Delete the repo a failed first push created; the sentence that tells the user what happened to it."""
    try:
        api.delete_repo(repo_id, repo_type=repo_type)
    except Exception as exc:  # noqa: BLE001 - the first failure is the one to report
        return (f"The repository {repo_id} that this push created is still there, empty, and could not be deleted "
                f"({type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}); delete it in its settings on the Hub "
                "or push again.")
    return f"The repository {repo_id} that this push had just created was deleted again: no empty repository is left."


def commit_files(
    *,
    repo_id: str,
    repo_type: str,
    files: Mapping[str, Path | bytes],
    private: bool,
    revision: str | None,
    create_pr: bool,
    token: str | bool | None,
    commit_message: str,
    delete_stale: bool,
    space_sdk: str | None = None,
) -> PushResult:
    """Create the repo if needed and publish ``files`` in ONE commit (no commit when nothing changed).

    ``delete_stale`` also deletes, in the same commit, the remote files that ``files`` lacks. When this call
    created the repo and the publish then fails (the commit refused, the connection lost), the repo is deleted
    again, so a failed first push leaves no empty repository; the error says so (or that it could not be deleted).
    """
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
    from huggingface_hub.utils import get_token

    api = HfApi(token=token)
    refuse_secrets(files, tokens_in_use(token))
    token_sent = bool(token) if token is not None else bool(get_token())
    target = revision or "main"
    created = False
    try:
        with hub_errors("publish to", repo_id, endpoint=endpoint_of(api), token_sent=token_sent):
            created = _create_repo(api, repo_id, repo_type, private, space_sdk)
            if revision and revision != "main":
                api.create_branch(repo_id, repo_type=repo_type, branch=revision, exist_ok=True)
            before = api.repo_info(repo_id, repo_type=repo_type, revision=target)
            ops: list[Any] = []
            if delete_stale:
                remote = sorted(s.rfilename for s in (before.siblings or []))
                ops += [CommitOperationDelete(path_in_repo=name) for name in remote
                        if name not in files and name not in _KEEP_REMOTE]
            ops += [CommitOperationAdd(path_in_repo=rel, path_or_fileobj=str(src) if isinstance(src, Path) else src)
                    for rel, src in files.items()]
            info = api.create_commit(repo_id, operations=ops, commit_message=commit_message, repo_type=repo_type,
                                     revision=revision, create_pr=create_pr)
    except BaseException as exc:
        if not created:
            raise
        note = _delete_created_repo(api, repo_id, repo_type)
        if isinstance(exc, HubError):
            raise type(exc)(f"{exc} {note}") from exc
        if isinstance(exc, Exception):
            raise HubError(f"Cannot publish to {repo_id}: {type(exc).__name__}: {exc}. {note}") from exc
        logger.warning("%s", note)  # KeyboardInterrupt and friends: say it, then let them through
        raise
    changed = info.oid != before.sha
    if changed:
        logger.info("Published %d file(s) to %s (%s)", len(files), repo_id, info.commit_url)
    else:
        logger.info("%s already holds these files: no new commit", repo_id)
    return PushResult(repo_id=repo_id, repo_type=repo_type, revision=target, commit_oid=info.oid,
                      commit_url=info.commit_url, changed=changed, pr_url=getattr(info, "pr_url", None),
                      files=tuple(files))


def _card_for_push(info: CheckpointInfo, repo_id: str, keep_card: bool, secrets: Sequence[str]) -> bytes | None:
    """The README.md to publish: re-rendered with the repo id, or None to publish the folder's own."""
    if keep_card:
        if not (info.path / "README.md").is_file():
            raise NotACheckpointError(f"--keep-card: {info.path / 'README.md'} does not exist; drop --keep-card "
                                      "to generate one.")
        return None
    inputs_file = info.path / CARD_INPUTS_NAME
    inputs = (read_json(inputs_file, error=NotACheckpointError) if inputs_file.is_file()
              else {"record": read_record(info.path)})
    return render_card(info.path, inputs, repo_id, secrets).encode("utf-8")


def push(
    path: str | os.PathLike,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    create_pr: bool = False,
    token: str | bool | None = None,
    commit_message: str | None = None,
    keep_card: bool = False,
    delete_stale: bool = True,
    ignore_patterns: Sequence[str] | None = None,
) -> PushResult:
    """Publish a full checkpoint or a LoRA adapter folder to ``repo_id`` in one commit, with our card.

    The card is re-rendered from ``hf_hybrid_card.json`` (written by :func:`~hf_hybrid.hub.write_model_card`)
    so that its usage snippets name ``repo_id``; without it a card is built from the folder's training
    record. Remote files that the folder no longer has are deleted in the same commit (``delete_stale=False``
    keeps them), so the repo mirrors the checkpoint. Resume states and ``training_args.bin`` are not
    published (:data:`DEFAULT_IGNORE`), nor other models inside the folder (:func:`other_model_folders`: a
    tiny run's ``tiny-encoder-init/``, a ``merged/`` export; push their own folder to publish one), and the
    uploaded text files carry no absolute local paths (:func:`~hf_hybrid.hub.secrets.strip_local_paths`;
    the local files stay as they are). Pushing an unchanged folder makes no commit.

    Raises:
        InvalidRepoIdError, NotACheckpointError (from :mod:`hf_hybrid.checkpoint`), HubAuthError,
        HubUnreachableError, HubError.
    """
    validate_repo_id(repo_id)
    info = inspect_checkpoint(path)
    files: dict[str, Path | bytes] = dict(checkpoint_files(info.path, list(ignore_patterns or DEFAULT_IGNORE)))
    card = _card_for_push(info, repo_id, keep_card, tokens_in_use(token))
    if card is not None:
        files["README.md"] = card
    what = "LoRA adapter" if info.is_adapter else "model"
    return commit_files(repo_id=repo_id, repo_type="model", files=strip_local_paths(files), private=private, revision=revision,
                        create_pr=create_pr, token=token, delete_stale=delete_stale,
                        commit_message=commit_message or f"Upload {what} with hf-hybrid")


def _space_readme(folder: Path, title: str, tags: Sequence[str], app_file: str, extra: Mapping[str, Any]) -> bytes:
    """The Space's README.md with the YAML the Hub needs (sdk, app_file, ...), keeping what the folder has."""
    from huggingface_hub import SpaceCard

    readme = folder / "README.md"
    card = SpaceCard(readme.read_text(encoding="utf-8") if readme.is_file() else f"---\n---\n\n# {title}\n")
    data = card.data
    for key, value in {"title": title, "sdk": "gradio", "app_file": app_file, "pinned": False, **extra}.items():
        if data.get(key) is None:
            data[key] = value
    data["tags"] = list(dict.fromkeys(list(data.get("tags") or []) + list(tags)))
    return str(card).encode("utf-8")


def _publish_space(folder: Path, repo_id: str, *, space: str, tags: Sequence[str], private: bool,
                   token: str | bool | None, commit_message: str | None, revision: str | None, create_pr: bool,
                   extra_yaml: Mapping[str, Any], extra_files: Mapping[str, bytes] | None = None) -> PushResult:
    """Publish a Gradio Space folder (it must have ``app.py``) in one commit, mirroring the folder."""
    app = "app.py"
    if not (folder / app).is_file():
        raise NotACheckpointError(f"{folder} has no app.py: a Gradio Space needs one to start.")
    files: dict[str, Path | bytes] = dict(collect_files(folder, SPACE_IGNORE))
    files.update(extra_files or {})
    files["README.md"] = _space_readme(folder, repo_id.split("/")[1], tags, app, extra_yaml)
    return commit_files(repo_id=repo_id, repo_type="space", files=files, private=private, revision=revision,
                        create_pr=create_pr, token=token, delete_stale=True, space_sdk="gradio",
                        commit_message=commit_message or f"Upload {space} Space with hf-hybrid")


def _space_folder(path: str | os.PathLike, repo_id: str, default: str) -> Path:
    validate_repo_id(repo_id)
    folder = Path(path)
    if not folder.is_dir():
        raise NotACheckpointError(f"{folder} is not a folder: pass the Space folder (e.g. {default}).")
    return folder


def _find_metric_script(folder: Path) -> Path:
    scripts = [p for p in sorted(folder.glob("*.py")) if p.name not in ("app.py", "__init__.py", "setup.py")]
    defining = [p for p in scripts if re.search(r"class\s+\w+\(\s*evaluate\.(Metric|EvaluationModule)",
                                                 p.read_text(encoding="utf-8", errors="replace"))]
    candidates = defining or scripts
    if len(candidates) != 1:
        names = ", ".join(p.name for p in candidates) or "none"
        raise NotACheckpointError(f"{folder}: expected exactly one metric script defining an evaluate.Metric "
                                  f"subclass, found {names}.")
    return candidates[0]


def publish_metric(
    path: str | os.PathLike = "spaces/lareqa_metric",
    repo_id: str = "",
    *,
    private: bool = False,
    token: str | bool | None = None,
    commit_message: str | None = None,
    revision: str | None = None,
    create_pr: bool = False,
) -> PushResult:
    """Publish the ``evaluate`` metric folder as a Gradio Space so that ``evaluate.load(repo_id)`` works.

    ``evaluate`` downloads ``<NAME>.py`` from the Space ``ORG/NAME``, so the metric script is also published
    under that name when its file name differs. The README gets the Space YAML (sdk, app_file, tags
    ``evaluate``/``metric``).
    """
    folder = _space_folder(path, repo_id, "spaces/lareqa_metric")
    script = _find_metric_script(folder)
    expected = f"{repo_id.split('/')[1]}.py"
    extra = {} if script.name == expected else {expected: script.read_bytes()}
    return _publish_space(folder, repo_id, space="metric", tags=["evaluate", "metric"], private=private,
                          token=token, commit_message=commit_message, revision=revision, create_pr=create_pr,
                          extra_files=extra, extra_yaml={"emoji": "📏", "colorFrom": "blue", "colorTo": "green"})


def publish_demo(
    path: str | os.PathLike = "spaces/demo",
    repo_id: str = "",
    *,
    private: bool = False,
    token: str | bool | None = None,
    commit_message: str | None = None,
    revision: str | None = None,
    create_pr: bool = False,
) -> PushResult:
    """Publish the Gradio demo folder (``spaces/demo``) as a Space, in one commit."""
    folder = _space_folder(path, repo_id, "spaces/demo")
    return _publish_space(folder, repo_id, space="demo", tags=["hf-hybrid", "multilingual", "retrieval"],
                          private=private, token=token, commit_message=commit_message, revision=revision,
                          create_pr=create_pr, extra_yaml={"emoji": "🔎", "colorFrom": "indigo", "colorTo": "blue"})
