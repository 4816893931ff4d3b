"""``python -m hf_hybrid.encode`` / ``hf-hybrid encode``: embed a large corpus (or queries) into an embedding store.

Loads the corpus (:func:`hf_hybrid.retrieval.load_corpus`: JSONL(.gz), Parquet, a saved ``datasets`` directory or
a ``datasets`` Hub name) and the model (:meth:`hf_hybrid.DualEncoder.from_pretrained`: a checkpoint directory or a
Hub id), then runs :func:`hf_hybrid.retrieval.encode_corpus.encode_to_store`. The same command works unchanged
under ``accelerate launch --num_processes N`` (each process encodes every N-th chunk on its own device), and a
rerun after a kill encodes only the chunks that are missing. Flags are two dataclasses parsed by
``transformers.HfArgumentParser``, as ``train.py`` does: :class:`EncodeArguments` (what to encode, where) and
:class:`~hf_hybrid.retrieval.encode_corpus.EncodeSettings` (how).

Examples::

    python -m hf_hybrid.encode --model intfloat/multilingual-e5-small --corpus corpus.jsonl.gz \\
        --id_field _id --title_field title --output runs/emb --dtype float16
    accelerate launch --multi_gpu --num_processes 2 -m hf_hybrid.encode --model runs/hybrid --corpus corpus.parquet \
        --output runs/emb     # N GPUs, or N CPU processes over gloo when there is no GPU
    python -m hf_hybrid.encode --model runs/hybrid --corpus queries.jsonl --id_field _id --role query --output runs/q
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from transformers import HfArgumentParser

from ..retrieval.encode_corpus import EncodeResult, EncodeSettings, process_state


@dataclass
class EncodeArguments:
    """What to encode with which model, and where the store goes."""

    model: str = field(metadata={"help": "checkpoint directory or Hub id (DualEncoder.from_pretrained)"})
    corpus: str = field(metadata={"help": "a .jsonl/.jsonl.gz/.parquet file, a save_to_disk directory or a "
                                          "datasets Hub name"})
    output: str = field(metadata={"help": "the embedding store directory (created; resumed when it holds this run)"})
    id_field: str = field(default="id", metadata={"help": "field of the row id ('_id' for BEIR, 'docid' for MIRACL)"})
    text_field: str = field(default="text", metadata={"help": "field of the text"})
    lang_field: str | None = field(default="lang", metadata={
        "help": "field of the language, checked when present ('' : ignore languages; the store keeps none)"})
    title_field: str | None = field(default=None, metadata={
        "help": "field of a title, encoded as 'title text' (BEIR convention), e.g. 'title'"})
    corpus_split: str | None = field(default=None, metadata={"help": "split of a DatasetDict directory / Hub dataset"})
    corpus_config: str | None = field(default=None, metadata={"help": "config name of a Hub dataset"})
    max_length: int | None = field(default=None, metadata={
        "help": "truncation length in tokens for --role's texts (None: the model's own)"})
    threads: int | None = field(default=None, metadata={
        "help": "torch CPU threads per process (None: torch's default)"})

    def __post_init__(self) -> None:
        for name in ("max_length", "threads"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"--{name} must be positive, got {value}")


def parse_args(argv: Sequence[str] | None = None) -> tuple[EncodeArguments, EncodeSettings]:
    parser = HfArgumentParser((EncodeArguments, EncodeSettings), prog="python -m hf_hybrid.encode")
    try:
        args, settings = parser.parse_args_into_dataclasses(args=list(sys.argv[1:] if argv is None else argv))
    except ValueError as exc:  # the dataclasses' own checks
        raise SystemExit(f"error: {exc}") from None
    return args, settings


def load_model(args: EncodeArguments, role: str) -> Any:
    """The model of ``--model`` with ``--max_length`` for ``role``, on this process's accelerate device."""
    from ..modeling import DualEncoder

    lengths = {f"{role}_max_length": args.max_length} if args.max_length is not None else {}
    return DualEncoder.from_pretrained(args.model, **lengths).to(process_state().device)


def run(args: EncodeArguments, settings: EncodeSettings, model: Any = None) -> EncodeResult:
    """Load corpus and model (``model`` overrides ``--model`` loading: tests, notebooks), encode, report."""
    from ..retrieval.corpus import load_corpus
    from ..retrieval.encode_corpus import encode_to_store

    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    state = process_state()
    corpus = load_corpus(args.corpus, id_field=args.id_field, text_field=args.text_field,
                         lang_field=args.lang_field or None, title_field=args.title_field, split=args.corpus_split,
                         config_name=args.corpus_config)
    if model is None:
        model = load_model(args, settings.role)
    result = encode_to_store(model, corpus, args.output, settings, model_name=args.model)
    print(f"process {state.process_index}/{state.num_processes}: encoded chunks {result.encoded}, kept finished "
          f"chunks {result.skipped}; {result.rows_encoded} rows in {result.seconds:.1f} s "
          f"({result.rows_per_second:.0f} rows/s)", file=sys.stderr)
    if state.is_main_process:
        store = result.store
        print(f"wrote {store.path}: {store.num_rows} {settings.role} embeddings x {store.dim} ({store.spec.dtype}) "
              f"in {store.spec.num_chunks} chunk(s)", file=sys.stderr)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, run; a data, model or store problem ends with one ``error: ...`` line and status 2 (``--debug``:
    the traceback)."""
    from ..checkpoint import ModelLoadError, NotACheckpointError
    from ..data import DataError

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    args, settings = parse_args([a for a in argv if a != "--debug"])
    try:
        run(args, settings)
    except (DataError, ModelLoadError, NotACheckpointError, ValueError, OSError) as exc:
        if debug:
            raise
        print(f"error: {exc}\n(run with --debug to see where it came from)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
