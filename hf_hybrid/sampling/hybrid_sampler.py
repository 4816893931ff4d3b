"""``HybridBatchSampler``: what lands in one batch, for ``hybrid``, ``x-x-mono``, ``x-x``, ``x-y``, ``x-multi``.

Contrastive training uses the other pairs of a batch as negatives, so *what* lands in one batch is the
training signal. A monolingual batch (all pairs in one language) teaches fine-grained ranking within a
language; a cross-lingual batch (query and passage in different languages) teaches language-agnostic
alignment; ``hybrid`` mixes the two per batch with probability ``alpha``. The invariants the batches must
keep (no group twice in a global batch, one batch kind per global step on every rank, languages drawn only
among those a group has, determinism per (seed, epoch), exact resume; ``docs/design.md``, section 2) are
not something a per-sample torch/accelerate sampler can express, hence this class.

It yields lists of ``(query_row, passage_row)`` pairs of row indices into the canonical dataset
(``(query_row, passage_row, negative_rows)`` with language negatives);
:class:`~hf_hybrid.sampling.PairDataset` turns those into training examples. Its parts live next to it:
:mod:`.group_index` (languages and rows per group), :mod:`.cycle_stream` (the groups of one kind),
:mod:`.batch_rows` (the languages of a step's rows), :mod:`.multi_group` (``x-multi``),
:mod:`.language_negatives`, :mod:`.language_weights`, :mod:`.alpha_schedule`, :mod:`.eligibility`,
:mod:`.sampler_args`.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import torch

from .alpha_schedule import AlphaSchedule
from .batch_rows import BatchRows
from .cycle_stream import PAIR_STREAM, CycleStream, open_streams
from .eligibility import Eligibility, check_eligibility
from .group_index import GroupIndex
from .kinds import BatchKind, Strategy
from .language_negatives import LanguageNegatives, check_language_negatives
from .language_weights import resolve_language_weights
from .multi_group import check_languages_per_group
from .plan import KIND_OF_CODE, MONO, TAG_PERMUTATION, plan_epoch, seeded_rng
from .sampler_args import check_int, check_layout, parse_strategy, replicas

__all__ = ["HybridBatchSampler"]

#: state_dict() keys besides the position: the settings that change batches (a resume must keep them).
_BATCH_SETTINGS = ("seed", "strategy", "batch_size", "num_replicas", "steps_per_epoch", "n_groups", "languages",
                   "languages_per_group", "language_negatives", "language_negatives_from")


class HybridBatchSampler(torch.utils.data.Sampler[list[tuple[int, int]]]):
    """Batches of ``(query_row, passage_row)`` pairs following one of the strategies of ``docs/design.md``.

    Strategies (section 2): ``x-x-mono`` (one language per batch), ``x-x`` (every pair monolingual,
    language per pair), ``x-y`` (every pair cross-lingual, both languages per pair), ``hybrid`` (per
    global step: an ``x-x-mono`` batch with probability ``alpha``, else ``x-y``) and ``x-multi`` (``W*B/m``
    groups, each in ``m`` languages: :mod:`.multi_group`).

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
    batch language with the requested weights (over the selected languages). ``x-multi`` takes the next
    ``W x B / m`` groups having ``m`` or more selected languages, each in ``m`` rows (:mod:`.multi_group`).

    **Epoch length.** ``steps_per_epoch = n // (W x B)`` with ``drop_last=True`` (else rounded up), where
    ``n`` is the number of groups having a selected language (``x-y``: having two or more; ``x-multi``:
    ``m`` or more, over ``W x B / m``). It depends on nothing random, so ``__len__`` is exact and equal on
    all ranks.

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
        strategy: a :class:`Strategy` or its value: ``"hybrid"``, ``"x-x-mono"``, ``"x-x"`` or ``"x-y"``.
        alpha: probability of an ``x-x-mono`` batch in ``hybrid``; with a linear schedule, its value at the
            first global step.
        alpha_schedule: ``"constant"``, ``"linear"``, ``"cosine"`` (from ``alpha`` to ``alpha_end`` over
            ``total_steps`` global steps, then constant at ``alpha_end``) or ``"step"`` (``alpha``, then
            ``alpha_end`` from the ``alpha_switch`` fraction of training on); see :class:`AlphaSchedule`.
        alpha_end: alpha at the last step of a non-constant schedule (only with those).
        alpha_switch: ``step`` only: the fraction of ``total_steps`` before the switch, in (0, 1).
        total_steps: global steps of the whole training for a non-constant schedule; default
            ``steps_per_epoch * num_epochs``.
        num_epochs: number of epochs, used only to default ``total_steps``.
        languages: restrict sampling to these language codes (default: all in the data).
        language_weights: ``"uniform"``, ``"proportional"`` (to the number of groups having the language),
            ``"temperature"`` (``p_l ~ n_l ** (1 / language_temperature)``, for imbalanced data) or a mapping
            ``{language: weight}`` (languages left out, or with weight 0, are not sampled).
        language_temperature: ``tau`` of ``language_weights="temperature"`` (1 = proportional, large =
            uniform); not the loss temperature.
        languages_per_group: ``x-multi`` only: ``m``, the languages (rows) of each group in a batch; must divide
            ``batch_size``; default 2.
        language_negatives: ``k`` negatives in the query's language per cross-lingual pair, from other groups
            (:mod:`.language_negatives`); items become ``(query_row, passage_row, negative_rows)``. 0 = off.
        language_negatives_from: ``"article"`` (the query's article first; default) or ``"any"``.
        seed: non-negative integer; all randomness derives from it.
        drop_last: drop the last incomplete global batch of an epoch (else pad it by wrapping the stream).
        num_replicas, rank: number of data-parallel processes and this one's index; default from
            ``accelerate.PartialState()``.
        layout: ``"accelerate"`` or ``"per_rank"`` (see above).
        group_column, lang_column, article_column: column names when ``data`` is a dataset (the article
            only for language negatives).
    """

    def __init__(
        self,
        data: Any,
        batch_size: int,
        *,
        strategy: Strategy | str = Strategy.HYBRID,
        alpha: float = 0.5,
        alpha_schedule: str = "constant",
        alpha_end: float | None = None,
        alpha_switch: float | None = None,
        total_steps: int | None = None,
        num_epochs: int | None = None,
        languages: Sequence[str] | None = None,
        language_weights: str | Mapping[str, float] = "uniform",
        language_temperature: float | None = None,
        languages_per_group: int | None = None,
        language_negatives: int = 0,
        language_negatives_from: str | None = None,
        seed: int = 0,
        drop_last: bool = True,
        num_replicas: int | None = None,
        rank: int | None = None,
        layout: str = "accelerate",
        group_column: str = "group_id",
        lang_column: str = "lang",
        article_column: str = "article",
    ) -> None:
        super().__init__()
        self.strategy = parse_strategy(strategy)
        self.layout = check_layout(layout)
        self.batch_size = check_int("batch_size", batch_size, 1, "a positive integer (pairs per process and step)")
        self.seed = check_int("seed", seed, 0, "a non-negative integer")
        self.num_replicas, self.rank = replicas(num_replicas, rank)
        self.drop_last = bool(drop_last)
        self.global_batch_size = self.batch_size * self.num_replicas
        self.index = data if isinstance(data, GroupIndex) else GroupIndex.from_dataset(data, group_column, lang_column)

        lang_counts = self.index.language_counts()
        self._weights = resolve_language_weights(self.index.languages, lang_counts, languages, language_weights,
                                                 language_temperature)
        self.language_weights = (
            {lang: float(w) for lang, w in language_weights.items()} if isinstance(language_weights, Mapping)
            else language_weights)
        self.language_temperature = None if language_temperature is None else float(language_temperature)
        self._lang_bits = np.flatnonzero(self._weights > 0)
        self.languages: tuple[str, ...] = tuple(self.index.languages[b] for b in self._lang_bits)
        self._subset = self.index.bits(self.languages)
        self._mono_p = self._weights[self._lang_bits] / self._weights[self._lang_bits].sum()

        source = "article" if language_negatives_from is None else language_negatives_from
        try:
            self.languages_per_group = check_languages_per_group(self.strategy, languages_per_group, self.batch_size)
            self.eligibility = Eligibility.count(self.index, self.languages, lang_counts, self.languages_per_group)
            self.steps_per_epoch = self.eligibility.steps_per_epoch(self.strategy, self.global_batch_size,
                                                                    self.drop_last)
            self.schedule = AlphaSchedule.from_arguments(alpha_schedule, alpha, alpha_end, total_steps, num_epochs,
                                                         self.steps_per_epoch, alpha_switch)
            self.language_negatives = check_language_negatives(language_negatives, source, self.strategy,
                                                               self.schedule, self.languages_per_group)
        except ValueError as err:
            raise ValueError(f"HybridBatchSampler: {err}") from None
        check_eligibility(self.eligibility, self.strategy, self.schedule, self.languages, self.batch_size,
                          self.num_replicas)
        self.alpha, self.alpha_schedule = self.schedule.start, self.schedule.shape
        self.total_steps, self.alpha_switch = self.schedule.total_steps, self.schedule.switch
        self.alpha_end = self.schedule.end if self.schedule.shape != "constant" else None
        self.n_single_language_groups = self.eligibility.n_single  # never in an x-y batch
        self.language_negatives_from = source if self.language_negatives else None
        self._rows = BatchRows(self.index, self._subset, self._weights, self.seed,
                               self.eligibility.groups_per_step(self.strategy, self.global_batch_size),
                               self.languages_per_group)
        self._negatives = (LanguageNegatives.from_data(data, self.index, self.language_negatives, source, self.seed,
                                                       self._subset, self._rows.groups_per_step, article_column)
                           if self.language_negatives else None)

        self._epoch = 0
        self._start_step = 0  # where the next __iter__ starts (set by load_state_dict)
        self._yielded_steps = 0
        self._plan_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._perm_cache: tuple[int, np.ndarray] | None = None

    # ------------------------------------------------------------------ settings

    @property
    def language_probabilities(self) -> dict[str, float]:
        """Normalised sampling weights of the selected languages (the x-x-mono batch-language distribution)."""
        return {self.index.languages[b]: float(p) for b, p in zip(self._lang_bits, self._mono_p)}

    def get_config_dict(self) -> dict[str, Any]:
        """The sampler's settings, JSON-ready, as recorded in the training record and shown on the model card.

        Passing the constructor's keys of this dict back to the constructor (with the same data and rank)
        rebuilds a sampler with the same batches.
        """
        return {
            "strategy": self.strategy.value,
            "alpha": self.alpha,
            "alpha_schedule": self.alpha_schedule,
            "alpha_end": self.alpha_end,
            "alpha_switch": self.alpha_switch,
            "total_steps": self.total_steps,
            "language_weights": (dict(self.language_weights) if isinstance(self.language_weights, Mapping)
                                 else self.language_weights),
            "language_temperature": self.language_temperature,
            "languages": list(self.languages),
            "language_probabilities": self.language_probabilities,
            "languages_per_group": self.languages_per_group,
            "language_negatives": self.language_negatives,
            "language_negatives_from": self.language_negatives_from,
            "batch_size": self.batch_size,
            "num_replicas": self.num_replicas,
            "global_batch_size": self.global_batch_size,
            "seed": self.seed,
            "drop_last": self.drop_last,
        }

    # ------------------------------------------------------------------ public, pure

    def __len__(self) -> int:
        """Batches one iteration yields: steps_per_epoch x num_replicas in the accelerate layout."""
        return self.steps_per_epoch * (self.num_replicas if self.layout == "accelerate" else 1)

    @property
    def epoch(self) -> int:
        return self._epoch

    def current_alpha(self, global_step: int) -> float:
        """Alpha of the schedule at a global sampler step counted from the start of training.

        ``global_step = epoch * steps_per_epoch + step_in_epoch`` (sampler steps, i.e. micro-batches; with
        gradient accumulation one optimizer step spans several).
        """
        return self.schedule.value(global_step)

    def batch_kind(self, step: int, epoch: int | None = None) -> tuple[BatchKind, str | None]:
        """Kind and mono language (``None`` unless :attr:`BatchKind.MONO`) of global step ``step`` of ``epoch``.

        Pure: it does not touch the iteration state, so a trainer can log batch kinds at any time.
        """
        epoch = self._epoch if epoch is None else int(epoch)
        if not 0 <= step < self.steps_per_epoch:
            raise IndexError(f"HybridBatchSampler.batch_kind: step={step} outside [0, {self.steps_per_epoch}).")
        kinds, langs = self._plan(epoch)
        kind = KIND_OF_CODE[int(kinds[step])]
        return kind, (self.index.languages[int(langs[step])] if kind == BatchKind.MONO else None)

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
        settings = {"seed": self.seed, "strategy": self.strategy.value, "batch_size": self.batch_size,
                    "num_replicas": self.num_replicas, "steps_per_epoch": self.steps_per_epoch,
                    "n_groups": self.index.n_groups, "languages": list(self.languages),
                    "languages_per_group": self.languages_per_group, "language_negatives": self.language_negatives,
                    "language_negatives_from": self.language_negatives_from}
        return {"epoch": self._epoch, "step": self._yielded_steps, **settings}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Make the next iteration start at ``state["step"]`` of ``state["epoch"]``.

        The configuration recorded in ``state`` must match: the same step under another batch size or seed
        would be other batches, and silently resuming with those is worse than failing.
        """
        for key in ("epoch", "step"):
            if key not in state:
                raise ValueError(f"HybridBatchSampler.load_state_dict: missing key {key!r} in {dict(state)}.")
        mine = self.state_dict()
        for key in _BATCH_SETTINGS:
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
        """The plan of ``epoch`` (:func:`~hf_hybrid.sampling.plan.plan_epoch`), cached for two epochs."""
        cached = self._plan_cache.get(epoch)
        if cached is not None:
            return cached
        plan = plan_epoch(self.seed, epoch, self.steps_per_epoch, self.strategy, self.schedule, self._lang_bits,
                          self._mono_p)
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
        seeded_rng(self.seed, TAG_PERMUTATION, epoch).shuffle(perm)
        self._perm_cache = (epoch, perm)
        return perm

    def _streams(self, epoch: int, start: int) -> dict[int, CycleStream]:
        """The streams of the kinds this strategy draws, positioned at global step ``start``."""
        streams = open_streams(self._permutation(epoch), self.index.masks, self._subset, self.strategy,
                               self.eligibility, self._lang_bits, self.index.languages)
        if start:
            kinds, langs = self._plan(epoch)
            done_kinds, done_langs = kinds[:start], langs[:start]
            per_step = self._rows.groups_per_step
            if PAIR_STREAM in streams:
                streams[PAIR_STREAM].seek(int(np.count_nonzero(done_kinds != MONO)) * per_step)
            mono_langs = done_langs[done_kinds == MONO]
            for bit, count in zip(*np.unique(mono_langs, return_counts=True)):
                streams[int(bit)].seek(int(count) * per_step)
        return streams

    def _global_batch(self, epoch: int, step: int, kind: int, lang: int,
                      streams: dict[int, CycleStream]) -> list[tuple]:
        """The ``W x B`` items of one global step: ``(query_row, passage_row[, negative_rows])``."""
        groups, q_bits, p_bits = self._rows.draw(epoch, step, kind, lang, streams)
        q_rows = self.index.rows(groups, q_bits).tolist()
        p_rows = q_rows if p_bits is q_bits else self.index.rows(groups, p_bits).tolist()
        if self._negatives is None:
            return list(zip(q_rows, p_rows))
        return list(zip(q_rows, p_rows, self._negatives.draw(epoch, step, groups, q_bits, p_bits)))

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
            items = self._global_batch(epoch, step, int(kinds[step]), int(langs[step]), streams)
            for r in ranks:
                if r == last:  # the step is fully handed out once its last slice is
                    self._yielded_steps = step + 1
                yield items[r * b:(r + 1) * b]
