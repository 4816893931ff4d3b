"""``python -m hf_hybrid evaluate --model PATH_OR_ID --data DIR`` or ``--run RUN [--qrels F] [--data DIR]``.

Encodes a LAReQA directory (XQuAD-R, MLQA-R: multilingual pool, language-pair matrix, MaxRD) or a
BEIR directory (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) with a dual encoder, and writes
``results.json``, ``results.md`` and ``results_map_matrix.png`` into ``--output``.  Embeddings are
cached on disk by (model weights, prompt, max length, text), so re-running with other metric settings,
languages or a subset costs no encoding.  The metrics (``docs/design.md`` section 3) are
:func:`hf_hybrid.evaluation.evaluate_model`, the same code ``DualEncoderTrainer.evaluate`` runs.
``python -m hf_hybrid.commands.evaluate`` (and ``hf-hybrid-evaluate``) is the same command.

Run mode (``--run run.trec``, no model, no embeddings): scores a TREC run file (the top-k candidates of
each query, e.g. from ``python -m hf_hybrid.search``) with :func:`hf_hybrid.evaluation.topk.compute_topk_metrics`
(mAP@k, Recall@k, MRR@10, nDCG@10, MaxRD@k, language-pair matrix, top-k language shares). Relevance comes
from ``--qrels`` (TREC qrels or BEIR TSV) or from ``--data``; languages from ``--data`` (a BEIR, MIRACL or
LAReQA directory: only document ids and languages are read), else everything is one language ``und``.
Cut-offs above the run depth ``k`` are lowered to ``k`` (a top-5 run has no nDCG@10).

Examples::

    python -m hf_hybrid evaluate --model intfloat/multilingual-e5-small --data /data/xquad-r --output runs/e5
    python -m hf_hybrid evaluate --model runs/hybrid --data /data/mlqa-r --langs en de ar --context
    python -m hf_hybrid evaluate --model runs/hybrid --data /data/scifact --split test   # BEIR
    hf-hybrid-evaluate --run runs/miracl-dev.trec --data /data/miracl --split dev --output runs/miracl-eval
    hf-hybrid-evaluate --run run.trec --qrels qrels.tsv                                    # monolingual
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..data import load_pool, load_retrieval_data, read_qrels
from ..evaluation import DEFAULT_K_VALUES, RetrievalResult, default_cache_dir, evaluate_model
from ..evaluation.topk import compute_topk_metrics


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m hf_hybrid evaluate",
        description="Evaluate a dual encoder on a LAReQA (XQuAD-R / MLQA-R), BEIR or MIRACL directory, or score "
                    "a TREC run file (--run).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--model", default=None,
                   help="checkpoint directory or Hub id (loaded with DualEncoder.from_pretrained)")
    p.add_argument("--run", default=None, help="a TREC run file to score instead of a model (no embeddings needed)")
    p.add_argument("--qrels", default=None, help="run mode: TREC qrels or BEIR qrels TSV (default: from --data)")
    p.add_argument("--k", type=int, default=None, help="run mode: the run depth (default: its longest list)")
    p.add_argument("--missing-queries", choices=("zero", "skip", "error"), default="zero",
                   help="run mode: judged queries absent from the run score 0, are skipped, or are an error")
    p.add_argument("--data", default=None,
                   help="LAReQA directory (<lang>.json files), BEIR or MIRACL directory, or 'bundled' (the shipped "
                        "XQuAD-R sample); run mode: the source of languages (and of qrels without --qrels)")
    p.add_argument("--langs", nargs="+", default=None, help="languages to keep (default: all in the data)")
    p.add_argument("--context", action="store_true",
                   help="LAReQA: candidates are 'sentence + paragraph' (the LAReQA 'with context' setting)")
    p.add_argument("--prefix-ids", action="store_true",
                   help="MIRACL: ids become '<lang>/<id>' (MIRACL ids repeat across languages; needed for several "
                        "languages at once; the run's ids must be prefixed the same way)")
    p.add_argument("--split", default=None, help="qrels split: BEIR qrels/<split>.tsv (default test), MIRACL "
                                                  "(default dev)")
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
    """Load data and model, evaluate, write the outputs; ``model`` overrides ``--model`` loading (tests, notebooks).

    With ``--run``, scores the run file instead (:func:`run_topk`).
    """
    if getattr(args, "run", None):
        return run_topk(args)
    if args.data is None:
        raise ValueError("--data is required with --model (the directory to evaluate on).")
    pool = load_pool(args.data, languages=args.langs, context=args.context, split=args.split,
                     prefix_ids=args.prefix_ids)
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
                        "split": (args.split or "test") if "beir" == pool.meta.get("format") else args.split,
                        "seconds": round(time.perf_counter() - t0, 2)})
    paths = result.save(args.output)
    print(result.to_markdown())
    print("wrote " + ", ".join(str(p) for p in paths.values()), file=sys.stderr)
    return result


def _load_run(path: str) -> Any:
    from ..retrieval.run_file import read_trec_run

    return read_trec_run(path)


def run_topk(args: argparse.Namespace) -> RetrievalResult:
    """Score the TREC run ``--run`` against ``--qrels`` / ``--data``; write and return the result."""
    if args.langs and not args.data:
        raise ValueError("--langs needs --data (the languages of queries and documents come from it).")
    if not args.qrels and not args.data:
        raise ValueError("--run needs --qrels (TREC or BEIR qrels) or --data (a directory with qrels).")
    run = _load_run(args.run)
    data = None
    if args.data:
        data = load_retrieval_data(args.data, languages=args.langs, context=args.context, split=args.split,
                                   prefix_ids=args.prefix_ids,
                                   corpus="ids")
    qrels = read_qrels(args.qrels) if args.qrels else data.qrels
    query_langs = data.query_lang_map() if data else None
    doc_langs = data.doc_lang_map() if data else None
    rows: Any = run
    if args.langs:  # a sub-pool: the other languages' queries and documents leave the lists
        rows = {q: {d: s for d, s in docs.items() if d in doc_langs}
                for q, docs in run.to_dict().items() if q in query_langs}
    depth = args.k or max([len(d) for d in (rows.values() if args.langs else run.doc_ids)] + [1])
    cut = min(10, depth)
    k_values = sorted({k for k in args.k_values if k <= depth} | {depth})
    dropped = [k for k in args.k_values if k > depth]
    if cut < 10 or dropped:
        print(f"run depth k={depth}: MRR/nDCG at @{cut}" + (f", Recall@{dropped} dropped" if dropped else ""),
              file=sys.stderr)
    t0 = time.perf_counter()
    metrics = compute_topk_metrics(rows, qrels, doc_langs=doc_langs, query_langs=query_langs, k=depth,
                                   k_values=k_values, mrr_k=cut, ndcg_k=cut, top_k=args.top_k,
                                   missing_queries=args.missing_queries)
    name = f"{data.name if data else Path(args.run).stem} (top-{depth} run)"
    result = RetrievalResult(metrics, name=name, model=run.name,
                             meta={"run": str(args.run), "qrels": args.qrels, "data": args.data, "k": depth,
                                   "languages_selected": args.langs, "split": args.split,
                                   "seconds": round(time.perf_counter() - t0, 2)})
    paths = result.save(args.output)
    print(result.to_markdown())
    print("wrote " + ", ".join(str(p) for p in paths.values()), file=sys.stderr)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if (args.model is None) == (args.run is None):
        build_parser().error("give --model (evaluate a model on --data) or --run (score a TREC run file), not both")
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
