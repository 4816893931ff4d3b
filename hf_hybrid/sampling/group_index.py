"""``GroupIndex``: which languages every group has, and where its rows are, in O(groups) memory.

The batch sampler must know, for every group, the languages it has (a language is drawn only among
those, ``docs/design.md``, section 2) and the row of each (group, language). Storing a Python object per
(group, language) does not scale; one language bitmask and one row offset per group does: 10 million
groups x 20 languages fit in ~120 MB. The bit helpers (:func:`popcount`, :func:`mask_dtype`) and the
scan chunk size live here, with the bitmasks they serve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

__all__ = ["MAX_LANGUAGES", "SCAN_CHUNK", "GroupIndex", "mask_dtype", "popcount"]

MAX_LANGUAGES = 64  # one uint64 bitmask per group
SCAN_CHUNK = 1 << 20  # groups scanned per numpy step; bounds temporary memory to a few MB


def popcount(values: np.ndarray) -> np.ndarray:
    """Number of set bits of each unsigned integer (numpy >= 2 has it built in; SWAR fallback otherwise)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(values).astype(np.int64, copy=False)
    x = values.astype(np.uint64)
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return ((x * np.uint64(0x0101010101010101)) >> np.uint64(56)).astype(np.int64)


def mask_dtype(n_languages: int) -> type[np.unsignedinteger]:
    """The narrowest unsigned dtype with one bit per language."""
    return np.uint32 if n_languages <= 32 else np.uint64


@dataclass(frozen=True)
class GroupIndex:
    """Which languages every group has, and where its rows are, in O(groups) memory.

    Rows of one group are contiguous in a *canonical order* (groups one after another, languages inside a
    group ordered by their position in ``languages``), so the row of (group ``g``, language ``l``) is
    ``offsets[g] + popcount(masks[g] & ((1 << l) - 1))`` and nothing per (group, language) needs storing.
    When the dataset's rows are not in that order, ``row_perm`` maps canonical positions to the dataset's
    actual row indices (one int64 per row, built once).

    Attributes:
        masks: per group, bit ``l`` set iff the group has language ``languages[l]`` (uint32 up to 32
            languages, else uint64).
        offsets: per group, canonical position of its first row (int64).
        languages: language codes; bit ``l`` of a mask stands for ``languages[l]``.
        row_perm: canonical position -> dataset row index, or ``None`` when they coincide.
        group_ids: optional group id per group (for error messages and debugging).
    """

    masks: np.ndarray
    offsets: np.ndarray
    languages: tuple[str, ...]
    row_perm: np.ndarray | None = None
    group_ids: Sequence[str] | None = None

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_arrays(
        cls,
        masks: np.ndarray,
        offsets: np.ndarray | None,
        languages: Sequence[str],
        row_perm: np.ndarray | None = None,
        group_ids: Sequence[str] | None = None,
        validate: bool = True,
    ) -> GroupIndex:
        """Build from numpy arrays directly (no dataset), e.g. for synthetic layouts of millions of groups.

        ``offsets=None`` means groups are stored back to back from row 0 (``offsets = cumsum(popcount)``).
        With ``validate`` the arrays are checked in O(groups) numpy work: a wrong offset would silently
        pair a query with another group's passage, which is worth a few milliseconds to rule out.
        """
        languages = tuple(str(lang) for lang in languages)
        if not 1 <= len(languages) <= MAX_LANGUAGES:
            raise ValueError(
                f"GroupIndex: {len(languages)} languages given; between 1 and {MAX_LANGUAGES} are supported "
                "(one bit per language in a uint64). Select fewer languages with `languages=`."
            )
        if len(set(languages)) != len(languages):
            raise ValueError(f"GroupIndex: duplicate language codes in languages={list(languages)}.")
        masks = np.asarray(masks)
        if masks.ndim != 1 or masks.dtype.kind not in "ui":
            raise ValueError(f"GroupIndex: masks must be a 1-D integer array, got shape {masks.shape} "
                             f"dtype {masks.dtype}.")
        dtype = mask_dtype(len(languages))
        if masks.dtype.kind == "i" and masks.size and int(masks.min()) < 0:
            raise ValueError("GroupIndex: masks must be non-negative bitmasks.")
        masks = masks.astype(dtype, copy=False)
        counts = popcount(masks)
        if offsets is None:
            offsets = np.zeros(len(masks), dtype=np.int64)
            if len(masks) > 1:
                np.cumsum(counts[:-1], out=offsets[1:])
        offsets = np.asarray(offsets, dtype=np.int64)
        if offsets.shape != masks.shape:
            raise ValueError(f"GroupIndex: offsets has shape {offsets.shape}, masks {masks.shape}; "
                             "give one offset per group.")
        if validate and masks.size:
            top = int(masks.max())
            if top >> len(languages):
                raise ValueError(
                    f"GroupIndex: a mask uses bit {top.bit_length() - 1} but only {len(languages)} languages "
                    "are named; pass every language code in bit order."
                )
            n_rows = int(offsets[-1] + counts[-1])
            overlap = np.flatnonzero(offsets[1:] < offsets[:-1] + counts[:-1])
            if int(offsets[0]) < 0 or overlap.size:
                bad = int(overlap[0]) + 1 if overlap.size else 0
                raise ValueError(
                    f"GroupIndex: offsets overlap at group {bad}: the rows of a group must be contiguous "
                    "and groups must not share rows (offsets[g+1] >= offsets[g] + popcount(masks[g]))."
                )
            if row_perm is not None and len(row_perm) < n_rows:
                raise ValueError(f"GroupIndex: row_perm has {len(row_perm)} entries, the layout needs {n_rows}.")
        return cls(masks=masks, offsets=offsets, languages=languages,
                   row_perm=None if row_perm is None else np.asarray(row_perm, dtype=np.int64),
                   group_ids=group_ids)

    @classmethod
    def from_dataset(cls, dataset: Any, group_column: str = "group_id", lang_column: str = "lang") -> GroupIndex:
        """Build from a canonical ``datasets.Dataset`` (one row per (group, language)).

        Columns are read through Arrow and encoded with numpy, never row by row in Python. The dataset's
        row order is free; if it is not already grouped and language-sorted, ``row_perm`` keeps the mapping.
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        names = getattr(dataset, "column_names", None)
        if names is None or not hasattr(dataset, "with_format"):
            raise TypeError(f"GroupIndex.from_dataset: expected a datasets.Dataset, got {type(dataset).__name__}.")
        for column in (group_column, lang_column):
            if column not in names:
                raise ValueError(f"GroupIndex.from_dataset: the dataset has no column {column!r} (columns: "
                                 f"{names}); pass group_column=/lang_column= or load it with hf_hybrid.data.")
        arrow = dataset.with_format("arrow")

        def encode(column: str) -> tuple[np.ndarray, list[str]]:
            values = arrow[column]
            if isinstance(values, pa.ChunkedArray):
                values = values.combine_chunks()
            if values.null_count:
                raise ValueError(f"GroupIndex.from_dataset: column {column!r} has {values.null_count} missing "
                                 "values; every row needs a group id and a language.")
            values = pc.cast(values, pa.string()) if not pa.types.is_string(values.type) else values
            encoded = pc.dictionary_encode(values)
            codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
            return codes, encoded.dictionary.to_pylist()

        group_codes, group_names = encode(group_column)
        lang_codes, lang_names = encode(lang_column)
        if len(lang_names) > MAX_LANGUAGES:
            raise ValueError(f"GroupIndex.from_dataset: {len(lang_names)} languages in column {lang_column!r}; "
                             f"at most {MAX_LANGUAGES} are supported. Filter the dataset to fewer languages.")
        # Bits in sorted language-code order, so the layout does not depend on row order.
        languages = sorted(lang_names)
        remap = np.empty(len(lang_names), dtype=np.int64)
        remap[[lang_names.index(lang) for lang in languages]] = np.arange(len(languages))
        lang_bits = remap[lang_codes]

        order = np.lexsort((lang_bits, group_codes))  # canonical position -> dataset row
        g_sorted = group_codes[order]
        l_sorted = lang_bits[order]
        dup = np.flatnonzero((g_sorted[1:] == g_sorted[:-1]) & (l_sorted[1:] == l_sorted[:-1]))
        if dup.size:
            i = int(dup[0])
            rows = sorted(int(r) for r in order[i:i + 2])
            raise ValueError(
                f"GroupIndex.from_dataset: group {group_names[g_sorted[i]]!r} has two rows in language "
                f"{languages[l_sorted[i]]!r} (rows {rows[0]} and {rows[1]}; {dup.size} such duplicates in all). "
                "A group holds one question per language: deduplicate the dataset or give the copies "
                "distinct group ids."
            )
        dtype = mask_dtype(len(languages))
        n_groups = len(group_names)
        starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]]) if len(g_sorted) else np.zeros(0, int)
        bits = np.left_shift(np.ones(len(l_sorted), dtype=dtype), l_sorted.astype(dtype))
        masks = np.zeros(n_groups, dtype=dtype)
        offsets = np.zeros(n_groups, dtype=np.int64)
        if len(starts):
            masks[g_sorted[starts]] = np.bitwise_or.reduceat(bits, starts)
            offsets[g_sorted[starts]] = starts
        # Group codes follow first appearance, so groups are already in code order after the sort.
        identity = bool(np.array_equal(order, np.arange(len(order))))
        return cls(masks=masks, offsets=offsets, languages=tuple(languages),
                   row_perm=None if identity else order.astype(np.int64), group_ids=group_names)

    # ------------------------------------------------------------------ queries

    @property
    def n_groups(self) -> int:
        return int(len(self.masks))

    def language_bit(self, language: str) -> int:
        try:
            return self.languages.index(language)
        except ValueError:
            raise ValueError(f"language {language!r} is not in the data (languages: {list(self.languages)}).") from None

    def bits(self, languages: Sequence[str]) -> int:
        """Bitmask of the given language codes."""
        out = 0
        for lang in languages:
            out |= 1 << self.language_bit(lang)
        return out

    def language_counts(self) -> np.ndarray:
        """Number of groups having each language (int64, aligned with ``languages``); chunked, no big temporaries."""
        out = np.zeros(len(self.languages), dtype=np.int64)
        one = self.masks.dtype.type(1)
        for start in range(0, self.n_groups, SCAN_CHUNK):
            chunk = self.masks[start:start + SCAN_CHUNK]
            for bit in range(len(self.languages)):
                out[bit] += np.count_nonzero(chunk & (one << self.masks.dtype.type(bit)))
        return out

    def eligibility_counts(self, subset_bits: int) -> tuple[int, int]:
        """(groups with >= 1, groups with >= 2) languages among ``subset_bits``."""
        sub = self.masks.dtype.type(subset_bits)
        n_any = n_multi = 0
        for start in range(0, self.n_groups, SCAN_CHUNK):
            pc = popcount(self.masks[start:start + SCAN_CHUNK] & sub)
            n_any += int(np.count_nonzero(pc))
            n_multi += int(np.count_nonzero(pc >= 2))
        return n_any, n_multi

    def rows(self, groups: np.ndarray, lang_bits: np.ndarray | int) -> np.ndarray:
        """Dataset row index of (group, language bit), vectorised. The caller guarantees the group has it."""
        masks = self.masks[groups]
        dt = self.masks.dtype.type
        lower = (dt(1) << np.asarray(lang_bits).astype(self.masks.dtype)) - dt(1)
        canonical = self.offsets[groups] + popcount(masks & lower)
        return canonical if self.row_perm is None else self.row_perm[canonical]
