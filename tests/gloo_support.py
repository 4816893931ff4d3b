"""Two-process gloo runs for tests: a free port, and a process group with the orderly teardown they need.

The teardown is the one that made the 2-process tests reliable: the caller drops its DDP module (the
reducer) inside the block, then every rank waits at a barrier, then the group is destroyed, then a
successful worker leaves with ``os._exit(0)`` without running C++ static destructors, where gloo's threads
intermittently abort ("terminate called without an active exception") after all the work is done and
saved. An exception skips the barrier and ``os._exit`` and propagates to ``mp.spawn``.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator

import torch.distributed as dist


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gloo_group(rank: int, world: int, port: int) -> Iterator[None]:
    """Run the block in a gloo process group; delete the DDP module inside the block, before it ends."""
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        yield
        dist.barrier()  # the peer may still use the group: wait for it before destroying
    finally:
        dist.destroy_process_group()
    os._exit(0)
