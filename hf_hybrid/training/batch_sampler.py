"""``sampler_from_arguments``: the :class:`~hf_hybrid.sampling.HybridBatchSampler` of a run's typed arguments.

One place turns :class:`~hf_hybrid.training.arguments.HybridTrainingArguments` into the sampler, so the trainer
(which feeds it to the dataloader) and the pipeline (which builds it before any model is loaded, so that
settings the data cannot satisfy fail in seconds) build the same one. The only translation: the Trainer
counts optimizer steps, the sampler's alpha schedule counts sampler steps (micro-batches).
"""

from __future__ import annotations

import math
from typing import Any

from ..sampling import HybridBatchSampler
from .arguments import HybridTrainingArguments

__all__ = ["sampler_from_arguments"]


def sampler_from_arguments(train_dataset: Any, args: HybridTrainingArguments, num_replicas: int,
                           rank: int) -> HybridBatchSampler:
    """The :class:`HybridBatchSampler` of ``args``' typed sampling fields, for ``num_replicas`` processes.

    Example::

        sampler = sampler_from_arguments(train, HybridTrainingArguments("out", strategy="x-y"), 1, 0)
    """
    total_steps = num_epochs = None
    if args.alpha_schedule != "constant":
        # The sampler counts micro-batches; the Trainer counts optimizer steps.
        if args.max_steps > 0:
            total_steps = args.max_steps * args.gradient_accumulation_steps
        else:
            num_epochs = math.ceil(args.num_train_epochs)
    return HybridBatchSampler(
        train_dataset,
        batch_size=args.per_device_train_batch_size,
        strategy=args.strategy,
        alpha=args.alpha,
        alpha_schedule=args.alpha_schedule,
        alpha_end=args.alpha_end,
        alpha_switch=args.alpha_switch,
        total_steps=total_steps,
        num_epochs=num_epochs,
        language_weights=args.language_weights,
        language_temperature=args.language_temperature,
        languages_per_group=args.languages_per_group,
        language_negatives=args.language_negatives,
        language_negatives_from=args.language_negatives_from if args.language_negatives else None,
        seed=args.seed,
        drop_last=True,
        num_replicas=num_replicas,
        rank=rank,
    )
