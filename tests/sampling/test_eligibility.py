"""Eligibility: enough distinct groups for a global batch of each kind the run draws, else a clear error."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from hf_hybrid.sampling import HybridBatchSampler
from sampling.layouts import make_layout, random_lang_sets


@pytest.fixture(scope="module")
def small_ds():
    return make_layout(random_lang_sets(20, np.random.default_rng(0)))


def test_error_batch_size_larger_than_eligible_groups(small_ds):
    with pytest.raises(ValueError, match=r"only 20 groups have a selected language, .*batch_size=11 x num_replicas=2"):
        HybridBatchSampler(small_ds, 11, strategy="x-x", num_replicas=2, rank=0)
    with pytest.raises(ValueError, match=r"only 20 groups have two or more languages"):
        HybridBatchSampler(small_ds, 21, strategy="x-y", num_replicas=1, rank=0)
    with pytest.raises(ValueError, match="batch_size=0 must be a positive integer"):
        HybridBatchSampler(small_ds, 0, num_replicas=1, rank=0)


def test_error_mono_batch_size_larger_than_a_language(small_ds):
    counts = Counter(small_ds["lang"])
    gb = min(counts.values()) + 1
    short = sorted(lang for lang, c in counts.items() if c < gb)
    listing = ", ".join(f"'{lang}': {counts[lang]}" for lang in short)
    with pytest.raises(ValueError, match=rf"these languages have fewer groups: \{{{listing}\}}"):
        HybridBatchSampler(small_ds, gb, strategy="x-x-mono", num_replicas=1, rank=0)
    with pytest.raises(ValueError, match="fewer groups"):
        HybridBatchSampler(small_ds, gb, strategy="hybrid", alpha=0.1, num_replicas=1, rank=0)
    # hybrid with alpha=0 never builds mono batches: no per-language requirement
    HybridBatchSampler(small_ds, gb, strategy="hybrid", alpha=0.0, num_replicas=1, rank=0)
    # leaving the short languages out makes it valid
    HybridBatchSampler(small_ds, gb, strategy="x-x-mono", languages=[x for x in counts if x not in short],
                       num_replicas=1, rank=0)


def test_error_xy_on_single_language_groups_only():
    ds = make_layout([["en"], ["de"], ["en"], ["zh"]])
    with pytest.raises(ValueError, match="no group has two or more of the languages .* all 4 groups have a single"):
        HybridBatchSampler(ds, 1, strategy="x-y", num_replicas=1, rank=0)
    with pytest.raises(ValueError, match="no group has two or more"):
        HybridBatchSampler(ds, 1, strategy="hybrid", alpha=0.5, num_replicas=1, rank=0)
    HybridBatchSampler(ds, 1, strategy="x-x", num_replicas=1, rank=0)  # fine without cross batches
