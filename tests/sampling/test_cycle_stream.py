"""CycleStream: distinct groups per take, wrap-around, and seek == the same number of groups taken."""

from __future__ import annotations

import numpy as np

from hf_hybrid.sampling.cycle_stream import CycleStream


def test_take_wraps_and_seek_matches_take():
    rng = np.random.default_rng(0)
    masks = rng.integers(0, 4, size=1000).astype(np.uint32)
    perm = rng.permutation(1000).astype(np.int32)
    accept = lambda m: (m & np.uint32(1)) != 0  # noqa: E731
    hits = int(np.count_nonzero(accept(masks)))
    stream = CycleStream(perm, masks, accept, hits)
    taken = np.concatenate([stream.take(7) for _ in range(hits // 7 + 3)])
    first = taken[:hits]
    assert len(set(first.tolist())) == hits and accept(masks[first]).all()
    assert taken[hits:].tolist() == first[:len(taken) - hits].tolist()  # wraps to the start of the walk
    for n in (0, 5, hits - 1, hits + 3):
        seeked = CycleStream(perm, masks, accept, hits)
        seeked.seek(n)
        assert seeked.take(5).tolist() == taken[n:n + 5].tolist()
