"""Batch sampling over parallel groups: ``hybrid``, ``x-x-mono``, ``x-x`` and ``x-y`` (design.md section 2).

Why a custom batch sampler at all: contrastive training uses the other pairs of a batch as negatives, so
*what* lands in one batch is the training signal. A monolingual batch (all pairs in one language) teaches
fine-grained ranking within a language; a cross-lingual batch (query and passage in different languages)
teaches language-agnostic alignment; ``hybrid`` mixes the two per batch with probability ``alpha``. The
invariants the batches must keep (no group twice in a global batch, one batch kind per global step on
every rank, languages drawn only among those a group has, determinism per (seed, epoch), exact resume)
are not something a per-sample torch/accelerate sampler can express, hence this module.

Two pieces:

* :class:`GroupIndex`: a compact, O(groups) view of the canonical dataset (one language bitmask and one
  row offset per group), so that 10 million groups x 20 languages fit in ~120 MB instead of a Python
  object per (group, language).
* :class:`HybridBatchSampler`: the batch sampler. It yields lists of ``(query_row, passage_row)`` pairs of
  row indices into the canonical dataset; :class:`PairDataset` turns those into training examples.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import torch

__all__ = [
    "KIND_CROSS",
    "KIND_MIXED",
    "KIND_MONO",
    "STRATEGIES",
    "GroupIndex",
    "HybridBatchSampler",
    "PairDataset",
]

#: Strategy names; fixed by design.md section 2 (they appear in configs, model cards and the metric).
STRATEGIES: tuple[str, ...] = ("hybrid", "x-x-mono", "x-x", "x-y")
#: Batch kinds reported by :meth:`HybridBatchSampler.batch_kind`.
KIND_MONO = "mono"  # an x-x-mono batch: one language for every query and passage
KIND_CROSS = "cross"  # an x-y batch: every pair has query language != passage language
KIND_MIXED = "x-x"  # an x-x batch: every pair monolingual, languages mixed across the batch
_KINDS = (KIND_MONO, KIND_CROSS, KIND_MIXED)
_LAYOUTS = ("accelerate", "per_rank")
_MAX_LANGUAGES = 64  # one uint64 bitmask per group
_CHUNK = 1 << 20  # groups scanned per numpy step when seeking; bounds temporary memory to a few MB
# Independent random streams derived from (seed, epoch, step): the SeedSequence spawn key keeps them apart.
_TAG_PERMUTATION, _TAG_PLAN, _TAG_PAIRS = 1, 2, 3


# --------------------------------------------------------------------------------------------- bit helpers


def _popcount(values: np.ndarray) -> np.ndarray:
    """Number of set bits of each unsigned integer (numpy >= 2 has it built in; SWAR fallback otherwise)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(values).astype(np.int64, copy=False)
    x = values.astype(np.uint64)
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return ((x * np.uint64(0x0101010101010101)) >> np.uint64(56)).astype(np.int64)


def _mask_dtype(n_languages: int) -> type[np.unsignedinteger]:
    return np.uint32 if n_languages <= 32 else np.uint64


def _rng(seed: int, tag: int, epoch: int = 0, step: int = 0) -> np.random.Generator:
    """The generator of one (seed, purpose, epoch, step): every rank derives the same one, no communication."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(tag, epoch, step))))


# --------------------------------------------------------------------------------------------- group index


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
        if not 1 <= len(languages) <= _MAX_LANGUAGES:
            raise ValueError(
                f"GroupIndex: {len(languages)} languages given; between 1 and {_MAX_LANGUAGES} are supported "
                "(one bit per language in a uint64). Select fewer languages with `languages=`."
            )
        if len(set(languages)) != len(languages):
            raise ValueError(f"GroupIndex: duplicate language codes in languages={list(languages)}.")
        masks = np.asarray(masks)
        if masks.ndim != 1 or masks.dtype.kind not in "ui":
            raise ValueError(f"GroupIndex: masks must be a 1-D integer array, got shape {masks.shape} "
                             f"dtype {masks.dtype}.")
        dtype = _mask_dtype(len(languages))
        if masks.dtype.kind == "i" and masks.size and int(masks.min()) < 0:
            raise ValueError("GroupIndex: masks must be non-negative bitmasks.")
        masks = masks.astype(dtype, copy=False)
        counts = _popcount(masks)
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
        if len(lang_names) > _MAX_LANGUAGES:
            raise ValueError(f"GroupIndex.from_dataset: {len(lang_names)} languages in column {lang_column!r}; "
                             f"at most {_MAX_LANGUAGES} are supported. Filter the dataset to fewer languages.")
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
        dtype = _mask_dtype(len(languages))
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
        for start in range(0, self.n_groups, _CHUNK):
            chunk = self.masks[start:start + _CHUNK]
            for bit in range(len(self.languages)):
                out[bit] += np.count_nonzero(chunk & (one << self.masks.dtype.type(bit)))
        return out

    def eligibility_counts(self, subset_bits: int) -> tuple[int, int]:
        """(groups with >= 1, groups with >= 2) languages among ``subset_bits``."""
        sub = self.masks.dtype.type(subset_bits)
        n_any = n_multi = 0
        for start in range(0, self.n_groups, _CHUNK):
            pc = _popcount(self.masks[start:start + _CHUNK] & sub)
            n_any += int(np.count_nonzero(pc))
            n_multi += int(np.count_nonzero(pc >= 2))
        return n_any, n_multi

    def rows(self, groups: np.ndarray, lang_bits: np.ndarray | int) -> np.ndarray:
        """Dataset row index of (group, language bit), vectorised. The caller guarantees the group has it."""
        masks = self.masks[groups]
        dt = self.masks.dtype.type
        lower = (dt(1) << np.asarray(lang_bits).astype(self.masks.dtype)) - dt(1)
        canonical = self.offsets[groups] + _popcount(masks & lower)
        return canonical if self.row_perm is None else self.row_perm[canonical]


# --------------------------------------------------------------------------------------------- streams


class _CycleStream:
    """Circular walk over an epoch permutation restricted to the groups that satisfy ``accept``.

    Why this shape: taking the next ``k`` entries of a circular list of ``n_hits >= k`` distinct groups
    always gives ``k`` distinct groups (the no-duplicate invariant), a position is one integer (cheap
    state, exact resume), and the restricted list is never materialised (memory O(groups), not
    O(groups x languages) for the per-language streams).
    """

    def __init__(self, perm: np.ndarray, masks: np.ndarray, accept: Any, n_hits: int) -> None:
        self.perm, self.masks, self.accept, self.n_hits = perm, masks, accept, n_hits
        self.n = len(perm)
        self.pos = 0
        self.trivial = n_hits == self.n  # every group qualifies: plain slicing
        density = n_hits / max(self.n, 1)
        self._scan = 1 << 12 if density <= 0 else max(1 << 12, int(4 / density))

    def seek(self, hits: int) -> None:
        """Position the stream after ``hits`` accepted groups from the start of the epoch (O(groups) numpy)."""
        h = hits % self.n_hits
        if self.trivial:
            self.pos = h
            return
        pos = 0
        while True:
            chunk = self.perm[pos:pos + _CHUNK]
            ok = np.flatnonzero(self.accept(self.masks[chunk]))
            if len(ok) > h:
                self.pos = pos + int(ok[h])
                return
            h -= len(ok)
            pos += _CHUNK

    def take(self, k: int) -> np.ndarray:
        """The next ``k`` accepted groups (wrapping around the permutation)."""
        parts: list[np.ndarray] = []
        need = k
        while need:
            if self.trivial:
                seg = self.perm[self.pos:self.pos + need]
                parts.append(seg)
                need -= len(seg)
                self.pos += len(seg)
            else:
                size = max(self._scan, int(need * self.n / self.n_hits * 1.3) + 64)
                chunk = self.perm[self.pos:self.pos + size]
                ok = np.flatnonzero(self.accept(self.masks[chunk]))
                if len(ok) >= need:
                    parts.append(chunk[ok[:need]])
                    self.pos += int(ok[need - 1]) + 1
                    need = 0
                else:
                    parts.append(chunk[ok])
                    need -= len(ok)
                    self.pos += len(chunk)
            if self.pos >= self.n:
                self.pos = 0
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


# --------------------------------------------------------------------------------------------- sampler


class HybridBatchSampler(torch.utils.data.Sampler[list[tuple[int, int]]]):
    """Batches of ``(query_row, passage_row)`` pairs following one of the design.md strategies.

    Strategies (design.md section 2): ``x-x-mono`` (one language per batch), ``x-x`` (every pair
    monolingual, language per pair), ``x-y`` (every pair cross-lingual, both languages per pair) and
    ``hybrid`` (per global step: an ``x-x-mono`` batch with probability ``alpha``, else ``x-y``).

    **Global steps.** Everything is decided per *global* step ``s`` of epoch ``e``, identically on every
    rank, from random generators keyed by ``(seed, e, s)``: the batch kind, the mono language and the
    ``W x B`` distinct groups of the global batch (``W`` = ``num_replicas``, ``B`` = ``batch_size`` per
    process). Rank ``r`` trains on slice ``r`` (pairs ``r*B .. (r+1)*B - 1``). Hence every rank uses the
    same kind at the same step and the gathered global batch has no duplicate group.

    **Which groups.** Each epoch draws one permutation of all groups (seeded by (seed, epoch)). Every
    batch kind reads its groups from a circular stream over that permutation restricted to the groups it
    can use: ``x-x`` batches from the groups that have a selected language, ``x-y`` batches from those
    with two or more (single-language groups are skipped and counted in a warning), ``x-x-mono`` batches
    in language ``L`` from those that have ``L``. A batch takes the next ``W x B`` groups of its stream,
    so one epoch of ``x-x`` or ``x-y`` visits each eligible group at most once (except the wrap-around of
    the last, padded step when ``drop_last=False``); a stream that runs out wraps to its start, which
    keeps batches full and distinct. Languages: ``x-x`` draws the language of each pair among those its
    group has, with the requested weights renormalised over them; ``x-y`` draws the query language that
    way and the passage language the same way among the group's *other* languages; ``x-x-mono`` draws the
    batch language with the requested weights (over the selected languages).

    **Epoch length.** ``steps_per_epoch = n // (W x B)`` with ``drop_last=True`` (else rounded up), where
    ``n`` is the number of groups having a selected language (``x-y``: having two or more). It depends
    on nothing random, so ``__len__`` is exact and equal on all ranks.

    **Layouts (the accelerate trap).** accelerate's ``BatchSamplerShard`` (HF Trainer default) makes every
    rank iterate the whole batch sampler and keeps batch ``i`` for rank ``i % W``. With
    ``layout="accelerate"`` (default) the sampler therefore yields, for each global step, the ``W`` rank
    slices one after another, and ``len()`` is ``steps_per_epoch * W``; after accelerate's sharding rank
    ``r`` gets exactly its slice of each global step. With ``layout="per_rank"`` it yields only slice
    ``rank`` (``len() == steps_per_epoch``): for raw torch DDP, or an accelerate dataloader whose batch
    sharding is disabled. Never combine ``per_rank`` with accelerate's sharding: ranks would train on
    different steps' slices and kinds.

    **Resuming.** Batches are a pure function of (configuration, seed, epoch, step). ``state_dict()``
    records the epoch and the number of global steps whose batches were fully handed out;
    ``load_state_dict()`` makes the next iteration start there, positioning the streams by counting (no
    replay of batches). The HF Trainer instead replays the epoch's first batches through accelerate's
    ``skip_first_batches``, which gives the same batches because they are deterministic: use one of the
    two, not both. Note that a ``DataLoader`` (prefetching, workers) draws batches ahead of training, so
    in a custom loop prefer ``{"epoch": e, "step": steps_trained_in_epoch}`` to the live state.

    **Epochs.** Like torch's ``DistributedSampler``, call ``set_epoch(e)`` before each epoch (the HF
    Trainer does); otherwise every epoch repeats epoch 0's batches.

    Args:
        data: the canonical ``datasets.Dataset`` (columns ``group_id``, ``lang``) or a :class:`GroupIndex`.
        batch_size: pairs per process and step (``per_device_train_batch_size``).
        strategy: ``"hybrid"``, ``"x-x-mono"``, ``"x-x"`` or ``"x-y"``.
        alpha: probability of an ``x-x-mono`` batch in ``hybrid`` (with ``alpha_schedule="constant"``).
        languages: restrict sampling to these language codes (default: all in the data).
        language_weights: ``"uniform"``, ``"proportional"`` (to the number of groups having the language),
            ``"temperature"`` (``p_l ~ n_l ** (1 / temperature)``, for imbalanced data) or a mapping
            ``{language: weight}`` (languages left out, or with weight 0, are not sampled).
        temperature: ``tau`` for ``language_weights="temperature"`` (1 = proportional, large = uniform).
        alpha_schedule: ``"constant"`` or ``"linear"`` (``alpha_start`` to ``alpha_end`` over
            ``total_steps`` global steps, then constant at ``alpha_end``).
        alpha_start, alpha_end: end points of the linear schedule.
        total_steps: global steps of the whole training for the linear schedule; default
            ``steps_per_epoch * num_epochs``.
        num_epochs: number of epochs, used only to default ``total_steps``.
        seed: non-negative integer; all randomness derives from it.
        drop_last: drop the last incomplete global batch of an epoch (else pad it by wrapping the stream).
        num_replicas, rank: number of data-parallel processes and this one's index; default from
            ``accelerate.PartialState()``.
        layout: ``"accelerate"`` or ``"per_rank"`` (see above).
        group_column, lang_column: column names when ``data`` is a dataset.
    """

    def __init__(
        self,
        data: Any,
        batch_size: int,
        *,
        strategy: str = "hybrid",
        alpha: float = 0.5,
        languages: Sequence[str] | None = None,
        language_weights: str | Mapping[str, float] = "uniform",
        temperature: float | None = None,
        alpha_schedule: str = "constant",
        alpha_start: float | None = None,
        alpha_end: float | None = None,
        total_steps: int | None = None,
        num_epochs: int | None = None,
        seed: int = 0,
        drop_last: bool = True,
        num_replicas: int | None = None,
        rank: int | None = None,
        layout: str = "accelerate",
        group_column: str = "group_id",
        lang_column: str = "lang",
    ) -> None:
        super().__init__()
        if strategy not in STRATEGIES:
            raise ValueError(f"HybridBatchSampler: unknown strategy={strategy!r}; choose one of {list(STRATEGIES)} "
                             "(design.md section 2).")
        if layout not in _LAYOUTS:
            raise ValueError(f"HybridBatchSampler: unknown layout={layout!r}; choose 'accelerate' (HF Trainer / "
                             "accelerate.prepare) or 'per_rank' (raw torch DDP, no batch sharding).")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"HybridBatchSampler: batch_size={batch_size!r} must be a positive integer "
                             "(pairs per process and step).")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"HybridBatchSampler: seed={seed!r} must be a non-negative integer.")
        _check_probability("alpha", alpha)
        if num_replicas is None or rank is None:
            from accelerate import PartialState

            state = PartialState()
            num_replicas = state.num_processes if num_replicas is None else num_replicas
            rank = state.process_index if rank is None else rank
        if int(num_replicas) < 1 or not 0 <= int(rank) < int(num_replicas):
            raise ValueError(f"HybridBatchSampler: rank={rank} must be in [0, num_replicas={num_replicas}).")

        self.index = data if isinstance(data, GroupIndex) else GroupIndex.from_dataset(data, group_column, lang_column)
        self.strategy = strategy
        self.batch_size = int(batch_size)
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.layout = layout
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.alpha = float(alpha)
        self.global_batch_size = self.batch_size * self.num_replicas

        # ---- languages and weights
        lang_counts = self.index.language_counts()
        self._weights = self._resolve_weights(languages, language_weights, temperature, lang_counts)
        self.languages: tuple[str, ...] = tuple(
            lang for lang, w in zip(self.index.languages, self._weights) if w > 0)
        self._subset = self.index.bits(self.languages)
        self._lang_bits = np.flatnonzero(self._weights > 0)
        self._mono_p = self._weights[self._lang_bits] / self._weights[self._lang_bits].sum()

        # ---- alpha schedule (needs steps_per_epoch for the default total, so counts come first)
        if alpha_schedule not in ("constant", "linear"):
            raise ValueError(f"HybridBatchSampler: unknown alpha_schedule={alpha_schedule!r}; use 'constant' or "
                             "'linear' (with alpha_start, alpha_end, total_steps).")
        self.alpha_schedule = alpha_schedule
        if alpha_schedule == "linear":
            if alpha_start is None or alpha_end is None:
                raise ValueError("HybridBatchSampler: alpha_schedule='linear' needs alpha_start= and alpha_end= "
                                 "(the alpha of the first and of the last training step).")
            _check_probability("alpha_start", alpha_start)
            _check_probability("alpha_end", alpha_end)
            self.alpha_start, self.alpha_end = float(alpha_start), float(alpha_end)
        else:
            self.alpha_start = self.alpha_end = self.alpha
        uses_mono = strategy == "x-x-mono" or (strategy == "hybrid" and max(self.alpha_start, self.alpha_end) > 0)
        uses_cross = strategy == "x-y" or (strategy == "hybrid" and min(self.alpha_start, self.alpha_end) < 1)

        # ---- eligibility (O(groups) numpy, chunked)
        gb = self.global_batch_size
        n_any, n_multi = self.index.eligibility_counts(self._subset)
        self._lang_counts = {lang: int(lang_counts[self.index.language_bit(lang)]) for lang in self.languages}
        self.n_single_language_groups = n_any - n_multi
        where = f"(batch_size={self.batch_size} x num_replicas={self.num_replicas} = {gb} distinct groups per global step)"
        if uses_cross:
            if n_multi == 0:
                raise ValueError(
                    f"HybridBatchSampler: strategy={strategy!r} needs cross-lingual (x-y) batches, but no group has "
                    f"two or more of the languages {list(self.languages)}; all {n_any} groups have a single one. "
                    "Use strategy='x-x' or 'x-x-mono', or select more languages."
                )
            if n_any - n_multi:
                warnings.warn(
                    f"HybridBatchSampler: {n_any - n_multi} of {n_any} groups have a single language among "
                    f"{list(self.languages)} and are skipped for x-y (cross-lingual) batches"
                    + (" (hybrid still uses them in x-x-mono batches)." if strategy == "hybrid" else "."),
                    UserWarning, stacklevel=2,
                )
            if n_multi < gb:
                raise ValueError(
                    f"HybridBatchSampler: only {n_multi} groups have two or more languages, fewer than a global "
                    f"batch needs {where}. Lower batch_size or use more data."
                )
        if uses_mono:
            short = {lang: c for lang, c in self._lang_counts.items() if c < gb}
            if short:
                listing = ", ".join(f"{lang!r}: {c}" for lang, c in sorted(short.items()))
                raise ValueError(
                    f"HybridBatchSampler: x-x-mono batches need {gb} distinct groups in one language {where}, "
                    f"but these languages have fewer groups: {{{listing}}}. Lower batch_size, or leave these "
                    "languages out (languages=[...] or a weight of 0 in language_weights)."
                )
        if strategy == "x-x" and n_any < gb:
            raise ValueError(f"HybridBatchSampler: only {n_any} groups have a selected language, fewer than a "
                             f"global batch needs {where}. Lower batch_size or use more data.")
        self._n_any, self._n_multi = n_any, n_multi
        n_epoch = n_multi if strategy == "x-y" else n_any
        self.steps_per_epoch = n_epoch // gb if self.drop_last else math.ceil(n_epoch / gb)

        if alpha_schedule == "linear":
            if total_steps is None and num_epochs is not None:
                total_steps = self.steps_per_epoch * int(num_epochs)
            if total_steps is None or int(total_steps) < 1:
                raise ValueError(
                    f"HybridBatchSampler: alpha_schedule='linear' needs total_steps= (global sampler steps of the "
                    f"whole training) or num_epochs=; got total_steps={total_steps!r}, num_epochs={num_epochs!r}."
                )
        self.total_steps = None if total_steps is None else int(total_steps)

        self._epoch = 0
        self._start_step = 0  # where the next __iter__ starts (set by load_state_dict)
        self._yielded_steps = 0
        self._plan_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._perm_cache: tuple[int, np.ndarray] | None = None

    # ------------------------------------------------------------------ configuration helpers

    def _resolve_weights(self, languages: Sequence[str] | None, weights: str | Mapping[str, float],
                         temperature: float | None, lang_counts: np.ndarray) -> np.ndarray:
        """Sampling weight of each language of the index (0 = not sampled)."""
        available = self.index.languages
        if languages is not None:
            if isinstance(languages, str):
                languages = [languages]
            unknown = [lang for lang in languages if lang not in available]
            if unknown:
                raise ValueError(f"HybridBatchSampler: languages={list(languages)} names {unknown}, not in the data "
                                 f"(available: {list(available)}).")
            if not languages:
                raise ValueError("HybridBatchSampler: languages=[] selects nothing; pass None for all languages.")
        selected = np.array([lang in (languages if languages is not None else available) for lang in available])
        counts = lang_counts.astype(np.float64)
        if isinstance(weights, Mapping):
            unknown = [lang for lang in weights if lang not in available]
            if unknown:
                raise ValueError(f"HybridBatchSampler: language_weights names {unknown}, not in the data "
                                 f"(available: {list(available)}); drop them from the mapping.")
            outside = [lang for lang in weights if not selected[available.index(lang)] and weights[lang] > 0]
            if outside:
                raise ValueError(f"HybridBatchSampler: language_weights gives weight to {outside}, which "
                                 f"languages={list(languages or [])} leaves out; add them there or drop the weights.")
            w = np.zeros(len(available))
            for lang, value in weights.items():
                if not isinstance(value, (int, float, np.number)) or not math.isfinite(value) or value < 0:
                    raise ValueError(f"HybridBatchSampler: language_weights[{lang!r}]={value!r} must be a finite "
                                     "number >= 0.")
                w[available.index(lang)] = float(value)
        elif weights == "uniform":
            w = np.ones(len(available))
        elif weights == "proportional":
            w = counts.copy()
        elif weights == "temperature":
            if temperature is None or not isinstance(temperature, (int, float)) or not (
                    math.isfinite(temperature) and temperature > 0):
                raise ValueError(f"HybridBatchSampler: language_weights='temperature' needs temperature=tau > 0 "
                                 f"(p_l ~ n_l ** (1/tau); tau=1 is proportional), got temperature={temperature!r}.")
            w = counts ** (1.0 / float(temperature))
        else:
            raise ValueError(f"HybridBatchSampler: language_weights={weights!r} must be 'uniform', 'proportional', "
                             "'temperature' or a mapping {language: weight}.")
        if temperature is not None and weights != "temperature":
            raise ValueError(f"HybridBatchSampler: temperature={temperature!r} is only used with "
                             f"language_weights='temperature' (got {weights!r}).")
        w = np.where(selected & (counts > 0), w, 0.0)
        if not np.any(w > 0):
            raise ValueError("HybridBatchSampler: no language has a positive sampling weight among the selected "
                             f"ones ({[lang for lang, s in zip(available, selected) if s]}).")
        return w

    # ------------------------------------------------------------------ public, pure

    def __len__(self) -> int:
        """Batches one iteration yields: steps_per_epoch x num_replicas in the accelerate layout."""
        return self.steps_per_epoch * (self.num_replicas if self.layout == "accelerate" else 1)

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def language_probabilities(self) -> dict[str, float]:
        """Normalised sampling weights of the selected languages (the x-x-mono batch-language distribution)."""
        return {self.index.languages[b]: float(p) for b, p in zip(self._lang_bits, self._mono_p)}

    def current_alpha(self, global_step: int) -> float:
        """Alpha of the schedule at a global sampler step counted from the start of training.

        ``global_step = epoch * steps_per_epoch + step_in_epoch`` (sampler steps, i.e. micro-batches; with
        gradient accumulation one optimizer step spans several).
        """
        if self.alpha_schedule == "constant":
            return self.alpha
        assert self.total_steps is not None
        frac = min(1.0, max(0, int(global_step)) / max(1, self.total_steps - 1))
        return self.alpha_start + (self.alpha_end - self.alpha_start) * frac

    def batch_kind(self, step: int, epoch: int | None = None) -> tuple[str, str | None]:
        """Kind (``"mono"``, ``"cross"`` or ``"x-x"``) and mono language of global step ``step`` of ``epoch``.

        Pure: it does not touch the iteration state, so a trainer can log batch kinds at any time.
        """
        epoch = self._epoch if epoch is None else int(epoch)
        if not 0 <= step < self.steps_per_epoch:
            raise IndexError(f"HybridBatchSampler.batch_kind: step={step} outside [0, {self.steps_per_epoch}).")
        kinds, langs = self._plan(epoch)
        kind = _KINDS[int(kinds[step])]
        return kind, (self.index.languages[int(langs[step])] if kind == KIND_MONO else None)

    # ------------------------------------------------------------------ state

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch of the next iteration (reshuffles). A pending resume position is kept only when
        ``epoch`` is the epoch it was saved in, so the Trainer's own ``set_epoch`` call does not erase it."""
        if isinstance(epoch, bool) or int(epoch) < 0:
            raise ValueError(f"HybridBatchSampler.set_epoch: epoch={epoch!r} must be a non-negative integer.")
        if int(epoch) != self._epoch:
            self._epoch = int(epoch)
            self._start_step = 0
            self._yielded_steps = 0

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable position: the epoch and the global steps of it already handed out in full."""
        return {
            "epoch": self._epoch,
            "step": self._yielded_steps,
            "seed": self.seed,
            "strategy": self.strategy,
            "batch_size": self.batch_size,
            "num_replicas": self.num_replicas,
            "steps_per_epoch": self.steps_per_epoch,
            "n_groups": self.index.n_groups,
            "languages": list(self.languages),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Make the next iteration start at ``state["step"]`` of ``state["epoch"]``.

        The configuration recorded in ``state`` must match: the same step under another batch size or seed
        would be other batches, and silently resuming with those is worse than failing.
        """
        for key in ("epoch", "step"):
            if key not in state:
                raise ValueError(f"HybridBatchSampler.load_state_dict: missing key {key!r} in {dict(state)}.")
        mine = self.state_dict()
        for key in ("seed", "strategy", "batch_size", "num_replicas", "steps_per_epoch", "n_groups", "languages"):
            if key in state and state[key] != mine[key]:
                raise ValueError(
                    f"HybridBatchSampler.load_state_dict: the state was saved with {key}={state[key]!r}, this "
                    f"sampler has {key}={mine[key]!r}; resuming would give different batches. Build the sampler "
                    "with the saved configuration."
                )
        epoch, step = int(state["epoch"]), int(state["step"])
        if epoch < 0 or not 0 <= step <= self.steps_per_epoch:
            raise ValueError(f"HybridBatchSampler.load_state_dict: epoch={epoch}, step={step} outside the epoch "
                             f"(0 <= step <= {self.steps_per_epoch}).")
        self._epoch = epoch
        self._start_step = step
        self._yielded_steps = step

    # ------------------------------------------------------------------ internals

    def _plan(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """Kind code and mono-language bit of every step of ``epoch``: O(steps), cached for two epochs."""
        cached = self._plan_cache.get(epoch)
        if cached is not None:
            return cached
        n = self.steps_per_epoch
        rng = _rng(self.seed, _TAG_PLAN, epoch)
        u = rng.random(n)
        langs = self._lang_bits[rng.choice(len(self._lang_bits), size=n, p=self._mono_p)] if n else np.zeros(0, int)
        if self.strategy == "x-x-mono":
            kinds = np.zeros(n, dtype=np.int8)
        elif self.strategy == "x-y":
            kinds = np.ones(n, dtype=np.int8)
        elif self.strategy == "x-x":
            kinds = np.full(n, 2, dtype=np.int8)
        else:
            t = epoch * n + np.arange(n)
            if self.alpha_schedule == "constant":
                alpha = np.full(n, self.alpha)
            else:
                frac = np.minimum(1.0, t / max(1, (self.total_steps or 1) - 1))
                alpha = self.alpha_start + (self.alpha_end - self.alpha_start) * frac
            kinds = np.where(u < alpha, 0, 1).astype(np.int8)
        plan = (kinds, langs.astype(np.int16))
        if len(self._plan_cache) >= 2:
            self._plan_cache.pop(next(iter(self._plan_cache)))
        self._plan_cache[epoch] = plan
        return plan

    def _permutation(self, epoch: int) -> np.ndarray:
        if self._perm_cache is not None and self._perm_cache[0] == epoch:
            return self._perm_cache[1]
        self._perm_cache = None  # free the previous epoch's before allocating
        dtype = np.int32 if self.index.n_groups < 2**31 else np.int64
        perm = np.arange(self.index.n_groups, dtype=dtype)
        _rng(self.seed, _TAG_PERMUTATION, epoch).shuffle(perm)
        self._perm_cache = (epoch, perm)
        return perm

    def _streams(self, epoch: int, start: int) -> dict[int, _CycleStream]:
        """Streams keyed by -1 (the x-x / x-y stream) or a language bit, positioned at global step ``start``."""
        perm = self._permutation(epoch)
        masks = self.index.masks
        dt = masks.dtype.type
        sub = dt(self._subset)
        streams: dict[int, _CycleStream] = {}
        if self.strategy in ("x-y", "hybrid") and self._n_multi:
            streams[-1] = _CycleStream(perm, masks, lambda m: _popcount(m & sub) >= 2, self._n_multi)
        elif self.strategy == "x-x":
            streams[-1] = _CycleStream(perm, masks, lambda m: (m & sub) != 0, self._n_any)
        if self.strategy in ("x-x-mono", "hybrid"):
            for bit in self._lang_bits:
                one = dt(1) << dt(int(bit))
                streams[int(bit)] = _CycleStream(perm, masks, lambda m, one=one: (m & one) != 0,
                                                 self._lang_counts[self.index.languages[int(bit)]])
        if start:
            kinds, langs = self._plan(epoch)
            done_kinds, done_langs = kinds[:start], langs[:start]
            gb = self.global_batch_size
            if -1 in streams:
                streams[-1].seek(int(np.count_nonzero(done_kinds != 0)) * gb)
            mono_langs = done_langs[done_kinds == 0]
            for bit, count in zip(*np.unique(mono_langs, return_counts=True)):
                streams[int(bit)].seek(int(count) * gb)
        return streams

    def _draw_languages(self, masks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One language bit per row, with the sampling weights renormalised over the row's set bits."""
        shifts = np.arange(len(self.index.languages), dtype=masks.dtype)
        has = ((masks[:, None] >> shifts[None, :]) & masks.dtype.type(1)).astype(bool)
        cum = np.cumsum(np.where(has, self._weights[None, :], 0.0), axis=1)
        total = cum[:, -1]
        u = np.minimum(rng.random(len(masks)) * total, np.nextafter(total, 0))
        return np.argmax(cum > u[:, None], axis=1)

    def _global_batch(self, epoch: int, step: int, kind: int, lang: int,
                      streams: dict[int, _CycleStream]) -> tuple[np.ndarray, np.ndarray]:
        gb = self.global_batch_size
        index = self.index
        if kind == 0:  # x-x-mono in one language
            groups = streams[lang].take(gb)
            rows = index.rows(groups, lang)
            return rows, rows
        groups = streams[-1].take(gb)
        rng = _rng(self.seed, _TAG_PAIRS, epoch, step)
        masks = index.masks[groups] & index.masks.dtype.type(self._subset)
        q_lang = self._draw_languages(masks, rng)
        q_rows = index.rows(groups, q_lang)
        if kind == 2:  # x-x: same row for query and passage
            return q_rows, q_rows
        dt = masks.dtype.type
        others = masks & ~(dt(1) << q_lang.astype(masks.dtype))
        p_rows = index.rows(groups, self._draw_languages(others, rng))
        return q_rows, p_rows

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        epoch, start = self._epoch, self._start_step
        self._start_step = 0  # a loaded position applies to one iteration
        self._yielded_steps = start
        if start >= self.steps_per_epoch:
            return
        kinds, langs = self._plan(epoch)
        streams = self._streams(epoch, start)
        b, w = self.batch_size, self.num_replicas
        ranks = range(w) if self.layout == "accelerate" else (self.rank,)
        last = ranks[-1]
        for step in range(start, self.steps_per_epoch):
            q_rows, p_rows = self._global_batch(epoch, step, int(kinds[step]), int(langs[step]), streams)
            q_list, p_list = q_rows.tolist(), p_rows.tolist()
            for r in ranks:
                if r == last:  # the step is fully handed out once its last slice is
                    self._yielded_steps = step + 1
                yield list(zip(q_list[r * b:(r + 1) * b], p_list[r * b:(r + 1) * b]))


def _check_probability(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"HybridBatchSampler: {name}={value!r} must be a probability in [0, 1] (the share of "
                         "x-x-mono batches in hybrid sampling).")


# --------------------------------------------------------------------------------------------- dataset


class PairDataset(torch.utils.data.Dataset):
    """Map-style view of the canonical dataset indexed by ``(query_row, passage_row)`` pairs.

    The sampler yields row pairs; this turns them into training examples with batched Arrow reads
    (``__getitems__``, used by torch's DataLoader), instead of one row lookup per pair.

    An example: ``{"query", "positive", "negatives", "query_lang", "passage_lang", "group_id"}``; query
    fields come from the query row, passage fields (positive, negatives, passage_lang) from the passage row.
    """

    def __init__(self, dataset: Any, *, query_column: str = "query", positive_column: str = "positive",
                 negatives_column: str = "negatives", lang_column: str = "lang",
                 group_column: str = "group_id") -> None:
        names = list(dataset.column_names)
        for column in (query_column, positive_column, lang_column, group_column):
            if column not in names:
                raise ValueError(f"PairDataset: the dataset has no column {column!r} (columns: {names}).")
        self.dataset = dataset
        self._cols = (query_column, positive_column, negatives_column, lang_column, group_column)
        self._has_negatives = negatives_column in names
        self._queries = dataset.select_columns([query_column, lang_column, group_column])
        self._passages = dataset.select_columns(
            [positive_column, lang_column] + ([negatives_column] if self._has_negatives else []))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, pair: tuple[int, int]) -> dict[str, Any]:
        return self.__getitems__([pair])[0]

    def __getitems__(self, pairs: Sequence[tuple[int, int]]) -> list[dict[str, Any]]:
        query_column, positive_column, negatives_column, lang_column, group_column = self._cols
        q_idx = [int(q) for q, _ in pairs]
        p_idx = [int(p) for _, p in pairs]
        q = self._queries[q_idx]
        p = self._passages[p_idx]
        negatives = p[negatives_column] if self._has_negatives else [[] for _ in pairs]
        return [
            {
                "query": q[query_column][i],
                "positive": p[positive_column][i],
                "negatives": list(negatives[i] or []),
                "query_lang": q[lang_column][i],
                "passage_lang": p[lang_column][i],
                "group_id": q[group_column][i],
            }
            for i in range(len(pairs))
        ]
