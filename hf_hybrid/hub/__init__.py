"""The Hugging Face Hub: model cards, publishing checkpoints, LoRA adapters, the metric and the demo Spaces.

- :mod:`~hf_hybrid.hub.errors`: :class:`HubError` and friends, Hub failures as messages with a remedy;
- :mod:`~hf_hybrid.hub.secrets`: tokens never reach a card or an upload;
- :mod:`~hf_hybrid.hub.card`: the model card, built from the training record and the evaluation results;
- :mod:`~hf_hybrid.hub.recipe_summary`: the card's batch-recipe sentence, and the recommended recipe;
- :mod:`~hf_hybrid.hub.publish`: one commit per publish (:func:`push`, :func:`publish_metric`,
  :func:`publish_demo`).

Checkpoint inspection and repo-id checks live in :mod:`hf_hybrid.checkpoint`; pushing from inside training
(``--push_to_hub``) in :mod:`hf_hybrid.training.hub_push`; the command line is
``python -m hf_hybrid push | publish-metric | publish-demo | card | resolve``.
"""

from __future__ import annotations

from hf_hybrid.hub.card import build_model_card, write_model_card
from hf_hybrid.hub.errors import HubAuthError, HubError, HubUnreachableError
from hf_hybrid.hub.publish import (
    DEFAULT_IGNORE,
    PushResult,
    checkpoint_files,
    collect_files,
    commit_files,
    publish_demo,
    publish_metric,
    push,
)
from hf_hybrid.hub.secrets import scrub_secrets

__all__ = [
    "DEFAULT_IGNORE",
    "HubAuthError",
    "HubError",
    "HubUnreachableError",
    "PushResult",
    "build_model_card",
    "checkpoint_files",
    "collect_files",
    "commit_files",
    "publish_demo",
    "publish_metric",
    "push",
    "scrub_secrets",
    "write_model_card",
]
