"""Command-line and config-file arguments of ``train.py``, as dataclasses for `HfArgumentParser`.

A run is described by a YAML/JSON file, optionally overridden by flags
(``train.py configs/quickstart.yaml --alpha 0.3``). Unknown keys are an error that names the key and the
file, because a misspelt ``aplha: 0.3`` silently training with the default is the worst outcome.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from transformers import HfArgumentParser, TrainingArguments

DEMO_MODEL = "demo"


@dataclass
class ModelArguments:
    """Which encoder to fine-tune and how it embeds text."""

    model_name_or_path: str = field(default=DEMO_MODEL, metadata={
        "help": "Hub id or local path of the encoder (XLM-R, LaBSE, multilingual-e5, an hf-hybrid checkpoint "
                "or a PEFT adapter). 'demo' builds a small random-init encoder whose tokenizer is trained on "
                "the training text: for trying the pipeline offline, not for real use."})
    pooling: str | None = field(default=None, metadata={"help": "mean | cls | last (default: the checkpoint's, else mean)."})
    query_prompt: str | None = field(default=None, metadata={"help": "Prefix for queries, e.g. 'query: ' for e5."})
    passage_prompt: str | None = field(default=None, metadata={"help": "Prefix for passages, e.g. 'passage: '."})
    query_max_length: int = field(default=64, metadata={"help": "Max tokens of a query."})
    passage_max_length: int = field(default=128, metadata={"help": "Max tokens of a passage."})
    separate_towers: bool = field(default=False, metadata={"help": "Separate query and passage encoders."})
    temperature: float = field(default=0.05, metadata={"help": "InfoNCE temperature (initial value if learnable)."})
    learnable_temperature: bool = field(default=False, metadata={"help": "Learn the temperature."})
    symmetric_loss: bool = field(default=False, metadata={"help": "Add the passage-to-query InfoNCE term."})
    lora: bool = field(default=False, metadata={"help": "Train a LoRA adapter (PEFT) instead of all weights."})
    lora_r: int = field(default=8, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA alpha."})
    lora_dropout: float = field(default=0.0, metadata={"help": "LoRA dropout."})
    lora_target_modules: list[str] | None = field(default=None, metadata={
        "help": "Module names to adapt (default: the attention projections of the model type)."})
    merge_lora: bool = field(default=False, metadata={"help": "Also export a merged full model to <output_dir>/merged."})
    demo_hidden_size: int = field(default=128, metadata={"help": "Demo encoder: hidden size."})
    demo_num_layers: int = field(default=2, metadata={"help": "Demo encoder: transformer layers."})
    demo_vocab_size: int = field(default=8000, metadata={"help": "Demo encoder: tokenizer vocabulary size."})


@dataclass
class DataArguments:
    """Training data and the held-out evaluation split."""

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
    """`TrainingArguments` plus the hybrid batch sampling settings (design.md section 2)."""

    strategy: str = field(default="hybrid", metadata={"help": "hybrid | x-x-mono | x-x | x-y"})
    alpha: float = field(default=0.5, metadata={"help": "Probability of a monolingual batch (hybrid)."})
    alpha_schedule: str = field(default="constant", metadata={"help": "constant | linear (from alpha to alpha_end)."})
    alpha_end: float | None = field(default=None, metadata={"help": "Final alpha of the linear schedule."})
    language_weights: str = field(default="uniform", metadata={
        "help": "uniform | proportional | temperature (with language_temperature)."})
    language_temperature: float = field(default=1.0, metadata={"help": "tau for language_weights=temperature."})


ARGUMENT_CLASSES = (ModelArguments, DataArguments, HybridTrainingArguments)


def _read_config(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SystemExit(f"error: {path}: invalid YAML: {exc}") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"error: {path}: line {exc.lineno}: invalid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise SystemExit(f"error: {path}: expected a mapping of argument names to values")
    return data


def parse_args(argv: list[str] | None = None) -> tuple[ModelArguments, DataArguments, HybridTrainingArguments]:
    """Parse ``[CONFIG.yaml|json] [--flag value ...]``: the file sets defaults, flags override them."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = HfArgumentParser(ARGUMENT_CLASSES)
    if argv and not argv[0].startswith("-") and Path(argv[0]).suffix.lower() in (".yaml", ".yml", ".json"):
        path = Path(argv.pop(0))
        if not path.is_file():
            raise SystemExit(f"error: config file {path} not found")
        config = _read_config(path)
        known = {f.name for cls in ARGUMENT_CLASSES for f in fields(cls) if f.init}
        unknown = sorted(set(config) - known)
        if unknown:
            import difflib

            hints = []
            for key in unknown:
                close = difflib.get_close_matches(key, known, n=1)
                hints.append(f"'{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
            raise SystemExit(f"error: {path}: unknown key(s) {', '.join(hints)}. "
                             "Run `python train.py --help` for the accepted arguments.")
        parser.set_defaults(**config)
    model_args, data_args, training_args, rest = parser.parse_args_into_dataclasses(
        args=argv, return_remaining_strings=True)
    if rest:
        raise SystemExit(f"error: unknown argument(s) {rest}. Run `python train.py --help` for the accepted arguments.")
    return model_args, data_args, training_args
