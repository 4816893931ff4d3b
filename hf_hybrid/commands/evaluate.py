"""``python -m hf_hybrid evaluate --model PATH_OR_ID --data DIR [options]``: evaluate a dual encoder.

Encodes a LAReQA directory (XQuAD-R, MLQA-R: multilingual pool, language-pair matrix, MaxRD) or a
BEIR directory (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) with a dual encoder, and writes
``results.json``, ``results.md`` and ``results_map_matrix.png`` into ``--output``.  Embeddings are
cached on disk by (model weights, prompt, max length, text), so re-running with other metric settings,
languages or a subset costs no encoding.  The metrics (``docs/design.md`` section 3) are
:func:`hf_hybrid.evaluation.evaluate_model`, the same code ``DualEncoderTrainer.evaluate`` runs.
``python -m hf_hybrid.commands.evaluate`` is the same command.

Examples::

    python -m hf_hybrid evaluate --model intfloat/multilingual-e5-small --data /data/xquad-r --output runs/e5
    python -m hf_hybrid evaluate --model runs/hybrid --data /data/mlqa-r --langs en de ar --context
    python -m hf_hybrid evaluate --model runs/hybrid --data /data/scifact --split test   # BEIR
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

from ..data import load_pool
from ..evaluation import DEFAULT_K_VALUES, RetrievalResult, default_cache_dir, evaluate_model


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m hf_hybrid evaluate",
        description="Evaluate a dual encoder on a LAReQA (XQuAD-R / MLQA-R) or BEIR directory.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--model", required=True, help="checkpoint directory or Hub id (loaded with DualEncoder.from_pretrained)")
    p.add_argument("--data", required=True,
                   help="LAReQA directory (<lang>.json files), BEIR directory, or 'bundled' (the shipped XQuAD-R sample)")
    p.add_argument("--langs", nargs="+", default=None, help="languages to keep (default: all in the data)")
    p.add_argument("--context", action="store_true",
                   help="LAReQA: candidates are 'sentence + paragraph' (the LAReQA 'with context' setting)")
    p.add_argument("--split", default="test", help="BEIR qrels split (qrels/<split>.tsv)")
    p.add_argument("--output", default="eval_results", help="directory for results.json, results.md and the heatmap")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--cache-dir", default=None, help=f"embedding cache (default: {default_cache_dir()})")
    p.add_argument("--no-cache", action="store_true", help="encode everything, read and write no cache")
    p.add_argument("--k-values", type=int, nargs="+", default=list(DEFAULT_K_VALUES), help="Recall@k cut-offs")
    p.add_argument("--top-k", type=int, default=10, help="depth of the top-k language-share table")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--no-progress", action="store_true", help="hide the encoding progress bars")
    return p


def _load_model(name: str, device: str | None) -> Any:
    from ..modeling import DualEncoder

    model = DualEncoder.from_pretrained(name)
    if device is None:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    return model.to(device)


def run(args: argparse.Namespace, model: Any = None) -> RetrievalResult:
    """Load data and model, evaluate, write the outputs; ``model`` overrides ``--model`` loading (tests, notebooks)."""
    pool = load_pool(args.data, languages=args.langs, context=args.context, split=args.split)
    print(f"{pool.name}: {len(pool.query_ids)} queries x {len(pool.cand_ids)} candidates, "
          f"languages {pool.languages}", file=sys.stderr)
    if model is None:
        model = _load_model(args.model, args.device)
    cache_dir = None if args.no_cache else (args.cache_dir or default_cache_dir())
    t0 = time.perf_counter()
    result = evaluate_model(model, pool, batch_size=args.batch_size, cache_dir=cache_dir,
                            show_progress_bar=not args.no_progress, k_values=args.k_values, top_k=args.top_k,
                            model_name=args.model)
    result.meta.update({"data": str(args.data), "languages_selected": args.langs, "context": args.context,
                        "split": args.split if "beir" == pool.meta.get("format") else None,
                        "seconds": round(time.perf_counter() - t0, 2)})
    paths = result.save(args.output)
    print(result.to_markdown())
    print("wrote " + ", ".join(str(p) for p in paths.values()), file=sys.stderr)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.batch_size <= 0:
        build_parser().error(f"--batch-size must be positive, got {args.batch_size}")
    try:
        run(args)
    except (ValueError, OSError) as exc:  # data/model errors: one clear line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
