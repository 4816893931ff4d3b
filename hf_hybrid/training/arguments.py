"""The arguments of a training run, as dataclasses for ``transformers.HfArgumentParser``.

Three dataclasses, each handed whole to the part of the pipeline that owns it (as Tevatron's driver does):

- :class:`ModelArguments` -> :func:`hf_hybrid.training.pipeline.build_model` and the loss;
- :class:`DataArguments` -> :func:`hf_hybrid.training.pipeline.prepare_data`;
- :class:`HybridTrainingArguments` (``TrainingArguments`` plus the sampling settings) -> the
  :class:`~hf_hybrid.training.trainer.DualEncoderTrainer`, which builds its
  :class:`~hf_hybrid.sampling.HybridBatchSampler` from these typed fields.

The sampling settings are checked when the arguments are built, so a bad strategy or schedule fails before
a model is loaded. Their meaning is in ``docs/design.md`` section 2.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from transformers import TrainingArguments

from ..modeling.device import has_accelerator
from ..modeling.loss import MULTI_POSITIVE_FORMS
from ..sampling import ALPHA_SCHEDULES, AlphaSchedule, Strategy
from ..sampling.language_negatives import LANGUAGE_NEGATIVE_SOURCES, check_language_negatives
from ..sampling.language_weights import resolve_language_weights
from ..sampling.multi_group import check_languages_per_group
from .chunking import check_chunk_size

#: ``model_name_or_path`` value that builds a small random-init encoder (tests and smoke runs only).
TINY_MODEL = "tiny"


@dataclass
class ModelArguments:
    """Which encoder to fine-tune, how it embeds text, and the contrastive loss."""

    model_name_or_path: str = field(default=TINY_MODEL, metadata={
        "help": "Hub id or local path of the encoder (XLM-R, LaBSE, multilingual-e5, an hf-hybrid checkpoint "
                f"or a PEFT adapter). '{TINY_MODEL}' builds a small random-init encoder whose tokenizer is "
                "trained on the training text: for trying the pipeline offline, not for real use."})
    pooling: str | None = field(default=None, metadata={"help": "mean | cls | last (default: the checkpoint's, else mean)."})
    query_prompt: str | None = field(default=None, metadata={"help": "Prefix for queries, e.g. 'query: ' for e5."})
    passage_prompt: str | None = field(default=None, metadata={"help": "Prefix for passages, e.g. 'passage: '."})
    query_max_length: int = field(default=64, metadata={"help": "Max tokens of a query."})
    passage_max_length: int = field(default=128, metadata={"help": "Max tokens of a passage."})
    separate_towers: bool = field(default=False, metadata={"help": "Separate query and passage encoders."})
    loss_temperature: float = field(default=0.05, metadata={
        "help": "InfoNCE temperature (the initial value if learnable); not the language_temperature of sampling."})
    learnable_temperature: bool = field(default=False, metadata={"help": "Learn the loss temperature."})
    symmetric_loss: bool = field(default=False, metadata={"help": "Add the passage-to-query InfoNCE term."})
    multi_positive: str = field(default="mean", metadata={
        "help": "How a query with several positives (x-multi: its group's passages in m languages) is scored: mean "
                "= -mean over the positives of log softmax (SupCon L_out; every translation must rank high), sum = "
                "-log of the softmax mass of all positives (MIL-NCE). Identical when each group occurs once.",
        "choices": list(MULTI_POSITIVE_FORMS)})
    lora: bool = field(default=False, metadata={"help": "Train a LoRA adapter (PEFT) instead of all weights."})
    lora_r: int = field(default=8, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA alpha."})
    lora_dropout: float = field(default=0.0, metadata={"help": "LoRA dropout."})
    lora_target_modules: list[str] | None = field(default=None, metadata={
        "help": "Module names to adapt (default: the attention projections of the model type)."})
    merge_lora: bool = field(default=False, metadata={"help": "Also export a merged full model to <output_dir>/merged."})
    tiny_hidden_size: int = field(default=128, metadata={"help": f"'{TINY_MODEL}' encoder: hidden size."})
    tiny_num_layers: int = field(default=2, metadata={"help": f"'{TINY_MODEL}' encoder: transformer layers."})
    tiny_vocab_size: int = field(default=8000, metadata={"help": f"'{TINY_MODEL}' encoder: tokenizer vocabulary size."})

    def __post_init__(self) -> None:
        if self.multi_positive not in MULTI_POSITIVE_FORMS:
            raise ValueError(f"multi_positive={self.multi_positive!r} is not one of {list(MULTI_POSITIVE_FORMS)}.")
        if self.model_name_or_path == "demo" and not os.path.isdir("demo"):
            raise ValueError(f"model_name_or_path='demo' was renamed to '{TINY_MODEL}' (the small random-init encoder "
                             "for tests and smoke runs).")


@dataclass
class DataArguments:
    """Training data and the held-out evaluation split (``docs/design.md`` section 1)."""

    train_data: str = field(default="bundled", metadata={
        "help": "LAReQA directory, JSONL/Parquet/CSV file, or 'bundled' (the XQuAD-R sample in the package)."})
    languages: list[str] | None = field(default=None, metadata={"help": "Languages to keep (default: all)."})
    context: bool = field(default=False, metadata={"help": "LAReQA: append the paragraph to answer sentences."})
    test_articles: float = field(default=0.25, metadata={
        "help": "Held-out articles for evaluation: a fraction (< 1) or a count (>= 1). 0 disables the split."})
    split_seed: int = field(default=0, metadata={"help": "Seed of the article split."})
    eval_data: str | None = field(default=None, metadata={
        "help": "A separate LAReQA directory to evaluate on (all its articles), instead of the held-out split."})
    eval_before_training: bool = field(default=True, metadata={"help": "Evaluate the model before training too."})


@dataclass
class HybridTrainingArguments(TrainingArguments):
    """``TrainingArguments`` plus the hybrid batch sampling settings (``docs/design.md`` section 2).

    The sampler takes these fields as they are; ``language_weights`` may also be a mapping
    ``{language: weight}`` when given in a YAML/JSON config.
    """

    strategy: str = field(default=Strategy.HYBRID.value, metadata={
        "help": "hybrid | x-x-mono | x-x | x-y | x-multi (each group in languages_per_group languages per batch, all "
                "of them positives of its queries)", "choices": [s.value for s in Strategy]})
    alpha: float = field(default=0.5, metadata={
        "help": "Probability of a monolingual batch (hybrid); with a schedule, its value at the first step."})
    alpha_schedule: str = field(default="constant", metadata={
        "help": "constant | linear | cosine (from alpha at the first step to alpha_end at the last, straight or along "
                "a half cosine) | step (alpha, then alpha_end from the alpha_switch fraction of training on; alpha 1 "
                "-> 0 is mono-first, 0 -> 1 the reverse).", "choices": list(ALPHA_SCHEDULES)})
    alpha_end: float | None = field(default=None, metadata={
        "help": "Alpha at the last step of a linear or cosine schedule; after the switch of a step schedule."})
    alpha_switch: float | None = field(default=None, metadata={
        "help": "step schedule: the fraction of training, in (0, 1), that uses alpha before alpha_end takes over."})
    languages_per_group: int | None = field(default=None, metadata={
        "help": "x-multi: languages (rows) of each group in a batch, m >= 1 dividing per_device_train_batch_size "
                "(default 2): a batch is B/m groups x m languages."})
    language_negatives: int = field(default=0, metadata={
        "help": "Hard negatives in the query's language added to every cross-lingual pair: passages of other "
                "questions (never one of the batch), from the query's article first. 0 = off."})
    language_negatives_from: str = field(default="article", metadata={
        "help": "Where language negatives come from: article (other questions of the query's article, then any) | "
                "any (any other question in the query's language).", "choices": list(LANGUAGE_NEGATIVE_SOURCES)})
    language_weights: str = field(default="uniform", metadata={
        "help": "uniform | proportional | temperature (with language_temperature), or a {language: weight} "
                "mapping in a config file."})
    language_temperature: float | None = field(default=None, metadata={
        "help": "tau of language_weights=temperature (default 1 there): p(language) ~ n ** (1 / tau); not the "
                "loss temperature."})

    mini_batch_size: int | None = field(default=None, metadata={
        "help": "Encode each step's queries, passages and negatives in chunks of at most this many texts, with "
                "gradient caching (GradCache): the gradient of the whole batch with the activation memory of one "
                "chunk, for one extra forward pass. Default: one forward pass per step."})
    cache_gradients: bool = field(default=True, metadata={
        "help": "With mini_batch_size: cache the loss gradient w.r.t. the embeddings and re-encode chunk by chunk "
                "(GradCache). False: the chunks back-propagate through one graph (the plain step's memory; with "
                "length_sorted_chunks it still saves the padding)."})
    length_sorted_chunks: bool = field(default=False, metadata={
        "help": "With mini_batch_size: fill each chunk with texts of similar token length (sorted), each chunk "
                "padded only to its own longest. Same results up to float noise, less padding."})

    overwrite_output_dir: bool = field(default=False, metadata={
        "help": "Start over in an output_dir that holds an earlier run (its checkpoints are deleted). Without it, "
                "such a folder is refused, so that two runs are never mixed."})
    hub_include_resume_state: bool = field(default=False, metadata={
        "help": "With --hub_strategy checkpoint/all_checkpoints, also upload the optimizer, scheduler, RNG, trainer "
                "and sampler states (to resume from the Hub); by default they stay local."})
    resume_with_different_batches: bool = field(default=False, metadata={
        "help": "Allow resuming with another batch size, number of processes, seed or strategy than the "
                "checkpoint (the rest of the epoch then draws other batches than the interrupted run)."})

    def __post_init__(self) -> None:
        check_sampling_arguments(self)
        check_chunk_arguments(self)
        if self.fp16 and self.bf16:
            raise ValueError("fp16 and bf16 are both set: choose one mixed-precision mode (bf16 where the hardware "
                             "has it, e.g. recent GPUs and CPUs; fp16 on older GPUs).")
        if self.max_steps == 0 or self.max_steps < -1:
            raise ValueError(f"max_steps={self.max_steps} must be > 0 (or -1: train num_train_epochs epochs).")
        if not self.use_cpu and int(os.environ.get("WORLD_SIZE", "1") or 1) > 1 and not has_accelerator():
            # A multi-process launch (torchrun / accelerate launch --multi_gpu) on a machine without a GPU:
            # without this each process would train alone on the CPU and they would overwrite each other's files.
            self.use_cpu = True
        super().__post_init__()


def check_chunk_arguments(args: HybridTrainingArguments) -> None:
    """``mini_batch_size`` a positive int; the options that refine it need it."""
    if args.mini_batch_size is not None:
        check_chunk_size(args.mini_batch_size)
        return
    if args.length_sorted_chunks:
        raise ValueError("length_sorted_chunks=True needs mini_batch_size (the number of texts per chunk).")
    if not args.cache_gradients:
        raise ValueError("cache_gradients=False has no effect without mini_batch_size: set both, or neither.")


def check_sampling_arguments(args: HybridTrainingArguments) -> None:
    """Fail fast, before any data or model is loaded, on sampling settings the sampler would reject.

    The checks are the sampler's own (one piece of code per rule), run on a one-language stand-in.
    """
    valid = [s.value for s in Strategy]
    if str(getattr(args.strategy, "value", args.strategy)) not in valid:
        raise ValueError(f"strategy={args.strategy!r} is not one of {valid}.")
    strategy = Strategy(getattr(args.strategy, "value", args.strategy))
    args.strategy = strategy.value
    schedule = AlphaSchedule.from_arguments(args.alpha_schedule, args.alpha, args.alpha_end, total_steps=None,
                                            num_epochs=1, steps_per_epoch=1, alpha_switch=args.alpha_switch)
    m = check_languages_per_group(strategy, args.languages_per_group, args.per_device_train_batch_size)
    check_language_negatives(args.language_negatives, args.language_negatives_from, strategy, schedule, m)
    if args.language_weights == "temperature" and args.language_temperature is None:
        args.language_temperature = 1.0  # tau = 1: proportional to the group counts
    # The weights rules on a stand-in for the data (a mapping's languages are checked against the data later).
    weights = args.language_weights
    available = list(weights) if isinstance(weights, Mapping) else ["xx"]
    resolve_language_weights(available, np.ones(len(available)), None, weights, args.language_temperature)
