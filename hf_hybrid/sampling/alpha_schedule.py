"""``AlphaSchedule``: alpha, the probability of an ``x-x-mono`` batch in ``hybrid`` sampling, over training.

``hybrid`` draws, per global step, an ``x-x-mono`` batch with probability ``alpha``, else an ``x-y`` batch
(``docs/design.md``, section 2). The shapes, with ``t`` the global sampler step, ``T`` = ``total_steps`` and
``f = min(1, t / max(1, T - 1))`` the fraction of training done:

* ``constant``: ``alpha`` all along;
* ``linear``: ``alpha + (alpha_end - alpha) * f``: ``alpha`` at the first step, ``alpha_end`` at the last
  (step ``T - 1``) and after;
* ``cosine``: ``alpha_end + (alpha - alpha_end) * (1 + cos(pi * f)) / 2``: the same end points along a half
  cosine (flat at both ends, fastest in the middle; the shape of the cosine learning-rate decay);
* ``step``: ``alpha`` for the steps ``t < S`` and ``alpha_end`` from ``S`` on, with
  ``S = floor(alpha_switch * T + 1/2)`` (``alpha_switch`` in (0, 1), the fraction of training before the
  switch; rounded half up). ``alpha=1, alpha_end=0`` trains mono-first then cross-lingual; ``0 -> 1`` is the
  reverse curriculum.

Steps are *global sampler steps* counted from the start of training,
``epoch * steps_per_epoch + step_in_epoch`` (micro-batches: with gradient accumulation one optimizer
step spans several). Every shape but ``constant`` needs ``alpha_end`` and ``total_steps``.

Example::

    AlphaSchedule("step", start=1.0, end=0.0, total_steps=10, switch=0.3).values(np.arange(10))
    # -> [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ALPHA_SCHEDULES", "AlphaSchedule", "check_probability"]

#: The schedule kinds.
ALPHA_SCHEDULES = ("constant", "linear", "cosine", "step")
_MOVING = ALPHA_SCHEDULES[1:]  # the shapes that go from alpha to alpha_end


def check_probability(name: str, value: Any) -> float:
    """``value`` as a float, or a ``ValueError`` naming ``name`` if it is not a number in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name}={value!r} must be a probability in [0, 1] (the share of x-x-mono batches in "
                         "hybrid sampling).")
    return float(value)


def _check_switch(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0.0 < float(value) < 1.0:
        raise ValueError(f"alpha_schedule='step' needs alpha_switch= in (0, 1), the fraction of training that uses "
                         f"alpha before alpha_end takes over; got alpha_switch={value!r}.")
    return float(value)


@dataclass(frozen=True)
class AlphaSchedule:
    """Alpha at every global sampler step.

    Attributes:
        shape: ``"constant"``, ``"linear"``, ``"cosine"`` or ``"step"`` (the sampler's ``alpha_schedule``).
        start: alpha at step 0 (the sampler's ``alpha``).
        end: alpha at step ``total_steps - 1`` and after (the sampler's ``alpha_end``); equals ``start`` for
            a constant schedule.
        total_steps: global sampler steps of the whole training; required by every shape but ``constant``.
        switch: ``step`` only: the fraction of ``total_steps`` before the switch to ``end``.
    """

    shape: str = "constant"
    start: float = 0.5
    end: float = 0.5
    total_steps: int | None = None
    switch: float | None = None

    def __post_init__(self) -> None:
        if self.shape not in ALPHA_SCHEDULES:
            raise ValueError(f"unknown alpha_schedule={self.shape!r}; use one of {list(ALPHA_SCHEDULES)} (all but "
                             "'constant' go from alpha to alpha_end over total_steps).")
        object.__setattr__(self, "start", check_probability("alpha", self.start))
        object.__setattr__(self, "end", check_probability("alpha_end", self.end))
        if self.shape == "constant" and self.end != self.start:
            raise ValueError(f"a constant alpha schedule has one alpha; got start={self.start}, end={self.end}.")
        if self.shape == "step":
            object.__setattr__(self, "switch", _check_switch(self.switch))
        elif self.switch is not None:
            raise ValueError(f"alpha_switch={self.switch!r} is only used with alpha_schedule='step' (got "
                             f"{self.shape!r}).")
        if self.total_steps is not None:
            object.__setattr__(self, "total_steps", int(self.total_steps))
        if self.shape in _MOVING and (self.total_steps is None or self.total_steps < 1):
            raise ValueError(f"alpha_schedule={self.shape!r} needs total_steps= (global sampler steps of the whole "
                             f"training) >= 1; got total_steps={self.total_steps!r}.")

    @classmethod
    def from_arguments(cls, alpha_schedule: str, alpha: float, alpha_end: float | None,
                       total_steps: int | None, num_epochs: int | None, steps_per_epoch: int,
                       alpha_switch: float | None = None) -> AlphaSchedule:
        """The schedule of :class:`~hf_hybrid.sampling.HybridBatchSampler`'s arguments.

        A moving schedule (``linear``, ``cosine``, ``step``) needs ``alpha_end`` and ``total_steps``, which
        defaults to ``steps_per_epoch * num_epochs``; ``step`` also needs ``alpha_switch``. A constant one takes
        no ``alpha_end`` (as ``language_temperature`` goes only with ``language_weights="temperature"``, so that
        a recorded setting is one that acted).
        """
        if alpha_schedule not in _MOVING:
            if alpha_end is not None and alpha_schedule == "constant":
                raise ValueError(f"alpha_end={alpha_end!r} is only used with alpha_schedule in {list(_MOVING)} (a "
                                 "constant schedule keeps alpha= all along).")
            return cls(alpha_schedule, alpha, alpha, total_steps, alpha_switch)
        if alpha_end is None:
            raise ValueError(f"alpha_schedule={alpha_schedule!r} needs alpha_end= (the alpha of the last training "
                             "step; alpha= is that of the first).")
        if total_steps is None and num_epochs is not None:
            total_steps = steps_per_epoch * int(num_epochs)
        if total_steps is None or int(total_steps) < 1:
            raise ValueError(f"alpha_schedule={alpha_schedule!r} needs total_steps= (global sampler steps of the "
                             f"whole training) or num_epochs=; got total_steps={total_steps!r}, "
                             f"num_epochs={num_epochs!r}.")
        return cls(alpha_schedule, alpha, alpha_end, total_steps, alpha_switch)

    @property
    def lowest(self) -> float:
        """The smallest alpha of the schedule (below 1: some ``x-y`` batches)."""
        return min(self.start, self.end)

    @property
    def highest(self) -> float:
        """The largest alpha of the schedule (above 0: some ``x-x-mono`` batches)."""
        return max(self.start, self.end)

    @property
    def switch_step(self) -> int | None:
        """``step`` only: the first global step that uses ``end``, ``floor(switch * total_steps + 1/2)``."""
        if self.shape != "step":
            return None
        return int(math.floor(self.switch * self.total_steps + 0.5))

    def values(self, global_steps: np.ndarray) -> np.ndarray:
        """Alpha at each of ``global_steps`` (integers; steps before 0 count as 0), vectorised."""
        steps = np.maximum(0, np.asarray(global_steps, dtype=np.int64))
        if self.shape == "constant":
            return np.full(steps.shape, self.start)
        if self.shape == "step":
            return np.where(steps < self.switch_step, self.start, self.end)
        fraction = np.minimum(1.0, steps / max(1, self.total_steps - 1))
        if self.shape == "cosine":
            return self.end + (self.start - self.end) * (1.0 + np.cos(np.pi * fraction)) / 2.0
        return self.start + (self.end - self.start) * fraction

    def value(self, global_step: int) -> float:
        """Alpha at one global sampler step (steps before 0 count as 0)."""
        return float(self.values(np.array([int(global_step)]))[0])
