"""``train.py`` / ``python -m hf_hybrid train``: a YAML/JSON config plus flags -> the training pipeline.

A run is described by a YAML/JSON file, optionally overridden by flags
(``train.py configs/quickstart.yaml --alpha 0.3``). Unknown keys are an error that names the key and the
file, because a misspelt ``aplha: 0.3`` silently training with the default is the worst outcome. The
parsed dataclasses go, whole, to :func:`hf_hybrid.training.pipeline.run`.
"""

from __future__ import annotations

import difflib
import json
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from transformers import HfArgumentParser

from ..training.arguments import DataArguments, HybridTrainingArguments, ModelArguments

ARGUMENT_CLASSES = (ModelArguments, DataArguments, HybridTrainingArguments)
CONFIG_SUFFIXES = (".yaml", ".yml", ".json")
#: Settings renamed in 0.1 (issue 11: one name per idea); an old name gets an error naming the new one.
RENAMED = {"temperature": "loss_temperature", "demo_hidden_size": "tiny_hidden_size",
           "demo_num_layers": "tiny_num_layers", "demo_vocab_size": "tiny_vocab_size"}


def _unknown(key: str, known: set[str]) -> str:
    if key in RENAMED:
        return f"'{key}' (renamed to '{RENAMED[key]}')"
    close = difflib.get_close_matches(key, known, n=1)
    return f"'{key}'" + (f" (did you mean '{close[0]}'?)" if close else "")


def read_config(path: Path) -> dict[str, Any]:
    """The argument mapping of a YAML/JSON config file; a bad file exits with its name and the problem."""
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
    known = {f.name for cls in ARGUMENT_CLASSES for f in fields(cls) if f.init}
    unknown = sorted(set(data) - known)
    if unknown:
        hints = [_unknown(key, known) for key in unknown]
        raise SystemExit(f"error: {path}: unknown key(s) {', '.join(hints)}. "
                         "Run `python train.py --help` for the accepted arguments.")
    return data


def parse_args(argv: list[str] | None = None) -> tuple[ModelArguments, DataArguments, HybridTrainingArguments]:
    """Parse ``[CONFIG.yaml|json] [--flag value ...]``: the file sets defaults, flags override them."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = HfArgumentParser(ARGUMENT_CLASSES, prog="train.py")
    source = "the command line"
    if argv and not argv[0].startswith("-") and Path(argv[0]).suffix.lower() in CONFIG_SUFFIXES:
        path = Path(argv.pop(0))
        if not path.is_file():
            raise SystemExit(f"error: config file {path} not found")
        parser.set_defaults(**read_config(path))
        source = f"{path} and the command line"
    try:
        model_args, data_args, training_args, rest = parser.parse_args_into_dataclasses(
            args=argv, return_remaining_strings=True)
    except ValueError as exc:  # raised by the dataclasses' own checks (e.g. the sampling settings)
        raise SystemExit(f"error: {source}: {exc}") from None
    if rest:
        renamed = [f"--{flag} (renamed to --{RENAMED[flag]})" for flag in (a[2:] for a in rest if a.startswith("--"))
                   if flag in RENAMED]
        hint = f" ({', '.join(renamed)})" if renamed else ""
        raise SystemExit(f"error: unknown argument(s) {rest}{hint}. Run `python train.py --help` for the accepted "
                         "arguments.")
    return model_args, data_args, training_args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse the arguments and run the pipeline; returns its before/after metrics and output paths."""
    from ..training.pipeline import run

    return run(*parse_args(argv))


if __name__ == "__main__":
    main()
