"""The argument checks of :class:`~hf_hybrid.sampling.HybridBatchSampler` that concern no single component.

Strategy, batch layout, positive integers and the process topology: each fails with the value, what it
must be and what to do, before anything is counted or drawn. The component settings (alpha schedule,
language weights, ``x-multi``, language negatives) are checked by their own modules.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .kinds import Strategy

__all__ = ["LAYOUTS", "check_int", "check_layout", "parse_strategy", "replicas"]

#: ``accelerate``: every rank walks all rank slices of a step (accelerate's batch sharding keeps its own);
#: ``per_rank``: each rank's sampler yields only its slice (raw DDP).
LAYOUTS = ("accelerate", "per_rank")


def parse_strategy(strategy: Strategy | str) -> Strategy:
    """The :class:`Strategy` of ``strategy`` (a member or its value)."""
    try:
        return Strategy(strategy)
    except ValueError:
        raise ValueError(f"HybridBatchSampler: unknown strategy={strategy!r}; choose one of "
                         f"{[s.value for s in Strategy]} (docs/design.md, section 2).") from None


def check_layout(layout: str) -> str:
    if layout not in LAYOUTS:
        raise ValueError(f"HybridBatchSampler: unknown layout={layout!r}; choose 'accelerate' (HF Trainer / "
                         "accelerate.prepare) or 'per_rank' (raw torch DDP, no batch sharding).")
    return layout


def check_int(name: str, value: Any, minimum: int, meaning: str) -> int:
    """``value`` as an int >= ``minimum`` (booleans refused), or a ``ValueError`` saying it must be ``meaning``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"HybridBatchSampler: {name}={value!r} must be {meaning}.")
    return int(value)


def replicas(num_replicas: int | None, rank: int | None) -> tuple[int, int]:
    """``(num_replicas, rank)``, the missing ones from ``accelerate.PartialState()``."""
    if num_replicas is None or rank is None:
        from accelerate import PartialState

        state = PartialState()
        num_replicas = state.num_processes if num_replicas is None else num_replicas
        rank = state.process_index if rank is None else rank
    if int(num_replicas) < 1 or not 0 <= int(rank) < int(num_replicas):
        raise ValueError(f"HybridBatchSampler: rank={rank} must be in [0, num_replicas={num_replicas}).")
    return int(num_replicas), int(rank)
