"""``train.py`` / ``python -m hf_hybrid train``: a YAML/JSON config plus flags -> the training pipeline.

A run is described by a YAML/JSON file, optionally overridden by flags
(``train.py configs/quickstart.yaml --alpha 0.3``). Unknown keys are an error that names the key and the
file, because a misspelt ``aplha: 0.3`` silently training with the default is the worst outcome. The
parsed dataclasses go, whole, to :func:`hf_hybrid.training.pipeline.run`.
"""

from __future__ import annotations

import difflib
import enum
import json
import sys
import types
import typing
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
    if not unknown:
        check_types(data, path)
    if unknown:
        hints = [_unknown(key, known) for key in unknown]
        raise SystemExit(f"error: {path}: unknown key(s) {', '.join(hints)}. "
                         "Run `python train.py --help` for the accepted arguments.")
    return data


#: Values a config file may give where the field's own type is narrower (documented in the field's help).
MAPPING_FIELDS = {"language_weights"}


def _field_types() -> dict[str, Any]:
    hints: dict[str, Any] = {}
    for cls in ARGUMENT_CLASSES:
        hints.update(typing.get_type_hints(cls))
    return hints


def _accepts(tp: Any, value: Any) -> bool | None:
    """Whether ``value`` fits type ``tp`` (None: a type this check does not know, so it is left to the parser)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        verdicts = [_accepts(arg, value) for arg in typing.get_args(tp)]
        return True if any(v for v in verdicts) else (None if None in verdicts else False)
    if tp is type(None):
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return isinstance(value, str) and value in {m.value for m in tp}
    if origin is list:
        (item,) = typing.get_args(tp) or (Any,)
        return isinstance(value, list) and all(_accepts(item, v) is not False for v in value)
    if origin is dict or tp is dict:
        return isinstance(value, dict)
    return None


def _type_name(tp: Any) -> str:
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string", type(None): "null"}
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if typing.get_origin(tp) is list:
        return "a list"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(repr(m.value) for m in tp)
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def check_types(config: dict[str, Any], path: Path) -> None:
    """A value of the wrong type in a config file is reported with the file and the key, not argparse's usage."""
    hints = _field_types()
    for key, value in config.items():
        if key in MAPPING_FIELDS and isinstance(value, dict):
            continue
        tp = hints.get(key)
        if tp is not None and _accepts(tp, value) is False:
            raise SystemExit(f"error: {path}: key '{key}': expected {_type_name(tp)}, got {value!r} "
                             f"({type(value).__name__}).")


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
    """Parse the arguments and run the pipeline; returns its before/after metrics and output paths.

    A mistake in the data, the settings or a checkpoint ends the run with one ``error: ...`` line (file,
    line, field and what to do, as the raising code words it) and exit status 2; ``--debug`` shows the
    traceback instead.
    """
    from ..checkpoint import ModelLoadError, NotACheckpointError
    from ..data import DataError
    from ..training.pipeline import run
    from ..training.resume import ResumeError

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    try:
        return run(*parse_args(argv))
    except (DataError, ModelLoadError, NotACheckpointError, ResumeError, ValueError) as exc:
        if debug:
            raise
        print(f"error: {exc}\n(run with --debug to see where it came from)", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
