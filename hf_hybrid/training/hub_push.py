"""Pushing to the Hub from inside training (``--push_to_hub``), with our model card, in one commit per push.

Why not the Trainer's own push: it uploads with ``upload_folder`` (possibly several commits, weights before
their card), writes its generic card, and publishes ``training_args.bin`` (a pickle that held ``hub_token``)
and, with ``hub_strategy="checkpoint"``, the optimizer and RNG states, which a published model does not need.
:func:`trainer_push` honours the same ``TrainingArguments`` (``hub_model_id``, ``hub_strategy``,
``hub_private_repo``, ``hub_revision``, ``hub_token``) but publishes through
:func:`hf_hybrid.hub.commit_files`, with the card of :mod:`hf_hybrid.hub.card` rendered from the
checkpoint's training record and the latest evaluation.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hf_hybrid.checkpoint import validate_repo_id
from hf_hybrid.hub import (
    DEFAULT_IGNORE,
    HubError,
    PushResult,
    checkpoint_files,
    commit_files,
    write_model_card,
)
from hf_hybrid.hub.publish import RESUME_STATE_FILES
from hf_hybrid.hub.secrets import strip_local_paths

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = ["trainer_push"]


def trainer_push(
    trainer: Any,
    checkpoint_folder: str | os.PathLike | None = None,
    *,
    commit_message: str | None = None,
    blocking: bool = True,
    results: Any = None,
    token: str | bool | None = None,
    revision: str | None = None,
    include_resume_state: bool | None = None,
) -> PushResult | Future[PushResult] | None:
    """Publish what a ``transformers.Trainer`` saved, honouring its ``push_to_hub`` arguments, with our card.

    ``DualEncoderTrainer`` calls this after each checkpoint's atomic rename (``checkpoint_folder`` is the
    finished ``checkpoint-N``) and from ``push_to_hub`` (end of training: ``checkpoint_folder=None``
    publishes ``args.output_dir``). ``hub_strategy``: ``end`` skips the mid-training pushes, ``every_save``
    publishes the model files, ``checkpoint`` also publishes the checkpoint under ``last-checkpoint/``
    and ``all_checkpoints`` under ``checkpoint-N/``, all in one commit.

    What is never published: ``training_args.bin``, the card's inputs, other models inside the folder (the
    untrained ``tiny-encoder-init/`` of a tiny run, a ``merged/`` export: :func:`hf_hybrid.hub.checkpoint_files`;
    push their own folder to publish one), and absolute local paths in the uploaded text files
    (:func:`hf_hybrid.hub.secrets.strip_local_paths`; local files are not changed). The resume states
    (optimizer, scheduler, scaler, RNG, ``trainer_state.json``, ``sampler_state.json``:
    :data:`~hf_hybrid.hub.publish.RESUME_STATE_FILES`) are published only on request, under the checkpoint
    sub-folder, to resume from the Hub: ``include_resume_state=True``, or ``hub_include_resume_state=True`` in
    the training arguments when the argument is None (the default: not published). The card shows ``results``
    (default: ``trainer.last_eval_result``). With ``blocking=False`` the push runs in the background
    (ordered, like the Trainer's own pushes) and the future is tracked in ``trainer.push_in_progress`` so
    the Trainer waits for it.
    """
    from transformers.trainer_utils import HubStrategy

    args = trainer.args
    if not trainer.is_world_process_zero():
        return None
    mid_training = checkpoint_folder is not None
    if mid_training and args.hub_strategy == HubStrategy.END:
        return None
    folder = Path(checkpoint_folder if mid_training else args.output_dir)
    token = token if token is not None else args.hub_token
    revision = revision if revision is not None else args.hub_revision
    repo_id = getattr(trainer, "hub_model_id", None) or args.hub_model_id
    if not repo_id:
        raise HubError("push_to_hub needs TrainingArguments.hub_model_id='ORG/NAME'.")
    if "/" not in repo_id:
        from huggingface_hub import HfApi

        repo_id = f"{HfApi(token=token).whoami()['name']}/{repo_id}"
    validate_repo_id(repo_id)

    # The card: the folder's training record (saved with the checkpoint) and the latest evaluation.
    write_model_card(folder, results=results if results is not None else getattr(trainer, "last_eval_result", None),
                     repo_id=repo_id)
    files: dict[str, Path | bytes] = dict(checkpoint_files(folder, DEFAULT_IGNORE))
    if mid_training and args.hub_strategy in (HubStrategy.CHECKPOINT, HubStrategy.ALL_CHECKPOINTS):
        sub = "last-checkpoint" if args.hub_strategy == HubStrategy.CHECKPOINT else folder.name
        if include_resume_state is None:
            include_resume_state = bool(getattr(args, "hub_include_resume_state", False))
        ignore = [p for p in DEFAULT_IGNORE if p not in RESUME_STATE_FILES] if include_resume_state else DEFAULT_IGNORE
        for rel, src in checkpoint_files(folder, ignore).items():
            files[f"{sub}/{rel}"] = src
    files = strip_local_paths(files)
    step = trainer.state.global_step
    message = commit_message or (f"Training in progress, step {step}" if mid_training else "End of training")

    def _run() -> PushResult:
        return commit_files(repo_id=repo_id, repo_type="model", files=files, private=bool(args.hub_private_repo),
                            revision=revision, create_pr=False, token=token, delete_stale=False,
                            commit_message=message)

    if blocking:
        return _run()
    from huggingface_hub import HfApi
    from transformers.utils.hub import PushInProgress

    future = HfApi().run_as_future(_run)
    if getattr(trainer, "push_in_progress", None) is None or trainer.push_in_progress.is_done():
        trainer.push_in_progress = PushInProgress([future])
    else:
        trainer.push_in_progress.jobs.append(future)
    return future
