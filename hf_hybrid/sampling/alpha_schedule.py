"""``AlphaSchedule``: alpha, the probability of an ``x-x-mono`` batch in ``hybrid`` sampling, over training.

``hybrid`` draws, per global step, an ``x-x-mono`` batch with probability ``alpha``, else an ``x-y`` batch
(``docs/design.md``, section 2). ``constant`` keeps ``alpha`` all along; ``linear`` goes from ``alpha`` at
the first global step to ``alpha_end`` at the last (step ``total_steps - 1``) and stays there, e.g. to
start with fine-grained monolingual ranking and end on cross-lingual alignment.

Steps are *global sampler steps* counted from the start of training,
``epoch * steps_per_epoch + step_in_epoch`` (micro-batches: with gradient accumulation one optimizer
step spans several).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ALPHA_SCHEDULES", "AlphaSchedule", "check_probability"]

#: The schedule kinds.
ALPHA_SCHEDULES = ("constant", "linear")


def check_probability(name: str, value: Any) -> float:
    """``value`` as a float, or a ``ValueError`` naming ``name`` if it is not a number in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name}={value!r} must be a probability in [0, 1] (the share of x-x-mono batches in "
                         "hybrid sampling).")
    return float(value)


@dataclass(frozen=True)
class AlphaSchedule:
    """Alpha at every global sampler step.

    Attributes:
        shape: ``"constant"`` or ``"linear"`` (the sampler's ``alpha_schedule``).
        start: alpha at step 0 (the sampler's ``alpha``).
        end: alpha at step ``total_steps - 1`` and after (the sampler's ``alpha_end``); equals ``start`` for
            a constant schedule.
        total_steps: global sampler steps of the whole training; required by ``linear``.
    """

    shape: str = "constant"
    start: float = 0.5
    end: float = 0.5
    total_steps: int | None = None

    def __post_init__(self) -> None:
        if self.shape not in ALPHA_SCHEDULES:
            raise ValueError(f"unknown alpha_schedule={self.shape!r}; use 'constant' or 'linear' (from alpha to "
                             "alpha_end over total_steps).")
        object.__setattr__(self, "start", check_probability("alpha", self.start))
        object.__setattr__(self, "end", check_probability("alpha_end", self.end))
        if self.shape == "constant" and self.end != self.start:
            raise ValueError(f"a constant alpha schedule has one alpha; got start={self.start}, end={self.end}.")
        if self.total_steps is not None:
            object.__setattr__(self, "total_steps", int(self.total_steps))
        if self.shape == "linear" and (self.total_steps is None or self.total_steps < 1):
            raise ValueError("alpha_schedule='linear' needs total_steps= (global sampler steps of the whole "
                             f"training) >= 1; got total_steps={self.total_steps!r}.")

    @classmethod
    def from_arguments(cls, alpha_schedule: str, alpha: float, alpha_end: float | None,
                       total_steps: int | None, num_epochs: int | None, steps_per_epoch: int) -> AlphaSchedule:
        """The schedule of :class:`~hf_hybrid.sampling.HybridBatchSampler`'s arguments.

        A linear schedule needs ``alpha_end`` and ``total_steps``, which defaults to
        ``steps_per_epoch * num_epochs``; a constant one takes no ``alpha_end`` (as ``language_temperature``
        goes only with ``language_weights="temperature"``, so that a recorded setting is one that acted).
        """
        if alpha_schedule != "linear":
            if alpha_end is not None and alpha_schedule == "constant":
                raise ValueError(f"alpha_end={alpha_end!r} is only used with alpha_schedule='linear' (a constant "
                                 "schedule keeps alpha= all along).")
            return cls(alpha_schedule, alpha, alpha, total_steps)
        if alpha_end is None:
            raise ValueError("alpha_schedule='linear' needs alpha_end= (the alpha of the last training step; alpha= "
                             "is that of the first).")
        if total_steps is None and num_epochs is not None:
            total_steps = steps_per_epoch * int(num_epochs)
        if total_steps is None or int(total_steps) < 1:
            raise ValueError(f"alpha_schedule='linear' needs total_steps= (global sampler steps of the whole "
                             f"training) or num_epochs=; got total_steps={total_steps!r}, num_epochs={num_epochs!r}.")
        return cls(alpha_schedule, alpha, alpha_end, total_steps)

    @property
    def lowest(self) -> float:
        """The smallest alpha of the schedule (below 1: some ``x-y`` batches)."""
        return min(self.start, self.end)

    @property
    def highest(self) -> float:
        """The largest alpha of the schedule (above 0: some ``x-x-mono`` batches)."""
        return max(self.start, self.end)

    def _fraction(self, steps: Any) -> Any:
        return np.minimum(1.0, steps / max(1, (self.total_steps or 1) - 1))

    def value(self, global_step: int) -> float:
        """Alpha at one global sampler step (steps before 0 count as 0)."""
        if self.shape == "constant":
            return self.start
        return self.start + (self.end - self.start) * float(self._fraction(max(0, int(global_step))))

    def values(self, global_steps: np.ndarray) -> np.ndarray:
        """Alpha at each of ``global_steps`` (non-negative integers), vectorised."""
        if self.shape == "constant":
            return np.full(len(global_steps), self.start)
        return self.start + (self.end - self.start) * self._fraction(global_steps)
