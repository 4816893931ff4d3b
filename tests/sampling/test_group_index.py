"""GroupIndex: O(groups) language bitmasks and row offsets, from datasets and from arrays."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hf_hybrid.sampling import GroupIndex
from sampling.layouts import FAST, LANGS7, Decoder, make_layout, random_lang_sets


def test_group_index_maps_every_group_language_to_its_row_in_a_shuffled_dataset():
    sets = random_lang_sets(30, np.random.default_rng(1), lo=1, hi=7)
    ds = make_layout(sets, shuffle_seed=3)
    index = GroupIndex.from_dataset(ds)
    assert index.languages == tuple(sorted(LANGS7)) and index.n_groups == 30 and index.row_perm is not None
    dec = Decoder(ds)
    seen = set()
    for g in range(index.n_groups):
        gid = index.group_ids[g]
        bits = [b for b in range(7) if int(index.masks[g]) >> b & 1]
        assert {index.languages[b] for b in bits} == dec.langs_of[gid]
        for b in bits:
            row = int(index.rows(np.array([g]), b)[0])
            assert (dec.group[row], dec.lang[row]) == (gid, index.languages[b])
            seen.add(row)
    assert seen == set(range(len(ds)))
    counts = index.language_counts()
    assert counts.tolist() == [sum(lang in s for s in sets) for lang in index.languages]


def test_group_index_of_a_sorted_dataset_needs_no_row_permutation():
    ds = make_layout([["de", "en"], ["en"], ["ar", "zh"]], shuffle_seed=None)
    index = GroupIndex.from_dataset(ds)
    assert index.row_perm is None
    assert index.offsets.tolist() == [0, 2, 3]


@FAST
@given(n_langs=st.integers(1, 64), n_groups=st.integers(1, 50), seed=st.integers(0, 2**32 - 1))
def test_group_index_from_arrays_rows_enumerate_the_canonical_order(n_langs, n_groups, seed):
    rng = np.random.default_rng(seed)
    masks = rng.integers(0, 2**62, size=n_groups, dtype=np.uint64) & np.uint64((1 << n_langs) - 1)
    index = GroupIndex.from_arrays(masks, None, [f"x{i}" for i in range(n_langs)])
    expected = 0
    for g in range(n_groups):
        for b in range(n_langs):
            if int(masks[g]) >> b & 1:
                assert int(index.rows(np.array([g]), b)[0]) == expected
                expected += 1


def test_popcount_fallback_for_numpy_1_matches(monkeypatch):
    from hf_hybrid.sampling import group_index as mod

    values = np.random.default_rng(0).integers(0, 2**63, size=1000, dtype=np.uint64)
    values[:3] = [0, 1, np.uint64(2**64 - 1)]
    expected = [bin(int(v)).count("1") for v in values]
    monkeypatch.delattr(np, "bitwise_count", raising=False)
    assert mod.popcount(values).tolist() == expected
    assert mod.popcount(values.astype(np.uint32)).tolist() == [bin(int(v) & 0xFFFFFFFF).count("1") for v in values]


def test_group_index_rejects_bad_arrays_and_duplicate_rows():
    with pytest.raises(ValueError, match="a mask uses bit 3 but only 2 languages"):
        GroupIndex.from_arrays(np.array([8]), None, ["a", "b"])
    with pytest.raises(ValueError, match="offsets overlap at group 1"):
        GroupIndex.from_arrays(np.array([3, 1]), np.array([0, 1]), ["a", "b"])
    with pytest.raises(ValueError, match="duplicate language codes"):
        GroupIndex.from_arrays(np.array([1]), None, ["a", "a"])
    dup = datasets.Dataset.from_list([{"group_id": "q1", "lang": "en"}, {"group_id": "q2", "lang": "en"},
                                      {"group_id": "q1", "lang": "en"}])
    with pytest.raises(ValueError, match=r"group 'q1' has two rows in language 'en' \(rows 0 and 2"):
        GroupIndex.from_dataset(dup)
    with pytest.raises(ValueError, match="no column 'lang'"):
        GroupIndex.from_dataset(datasets.Dataset.from_list([{"group_id": "q", "language": "en"}]))
