"""``python -m hf_hybrid push | publish-metric | publish-demo | card | resolve``: the Hub from the shell.

Parsing only; the work is :mod:`hf_hybrid.hub` (publishing, cards) and :mod:`hf_hybrid.checkpoint`
(resolving a checkpoint)::

    python -m hf_hybrid push PATH --repo-id ORG/NAME [--private] [--revision REV] [--create-pr]
    python -m hf_hybrid publish-metric [PATH] --repo-id ORG/NAME
    python -m hf_hybrid publish-demo [PATH] --repo-id ORG/NAME
    python -m hf_hybrid card PATH [--base-model ID] [--results FILE] [--language xx ...]
    python -m hf_hybrid resolve NAME_OR_PATH

``python -m hf_hybrid.commands.hub`` takes the same arguments. A user error (bad repo id, not a checkpoint,
no token, unreachable Hub) prints one ``error:`` line and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m hf_hybrid",
                                     description="Publish checkpoints, adapters, the metric and the demo to the Hub.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--repo-id", required=True, help="ORG/NAME on the Hub (created if missing)")
        p.add_argument("--private", action="store_true", help="create the repo as private (if it is new)")
        p.add_argument("--revision", default=None, help="branch to push to (created from main if missing)")
        p.add_argument("--create-pr", action="store_true", help="open a pull request instead of pushing")
        p.add_argument("--message", default=None, help="commit message")

    p = sub.add_parser("push", help="publish a full checkpoint or a LoRA adapter folder with its model card")
    p.add_argument("path")
    common(p)
    p.add_argument("--keep-card", action="store_true", help="publish the folder's README.md as it is")
    p.add_argument("--keep-remote-files", action="store_true",
                   help="do not delete remote files that the folder does not have")
    p = sub.add_parser("publish-metric", help="publish the evaluate metric folder as a Gradio Space")
    p.add_argument("path", nargs="?", default="spaces/lareqa_metric")
    common(p)
    p = sub.add_parser("publish-demo", help="publish the Gradio demo folder as a Space")
    p.add_argument("path", nargs="?", default="spaces/demo")
    common(p)
    p = sub.add_parser("card", help="(re)write README.md of a checkpoint folder")
    p.add_argument("path")
    p.add_argument("--base-model", default=None,
                   help="the model it was fine-tuned from (default: the one its training record names)")
    p.add_argument("--results", default=None, help="JSON file of evaluation results (results.json of the evaluator)")
    p.add_argument("--language", action="append", default=None, help="language code (repeatable)")
    p.add_argument("--dataset", action="append", default=None, help="Hub dataset id (repeatable)")
    p.add_argument("--repo-id", default=None, help="id to show in the usage snippets")
    p.add_argument("--license", default="apache-2.0")
    p = sub.add_parser("resolve", help="download a Hub checkpoint (or inspect a folder) and describe it")
    p.add_argument("name_or_path")
    p.add_argument("--revision", default=None)
    return parser


def _card(args: argparse.Namespace) -> Path:
    from ..checkpoint import read_json
    from ..hub import HubError, write_model_card
    from ..hub.card import read_record

    results: Any = None
    if args.results is not None:
        path = Path(args.results)
        if not path.is_file():
            raise HubError(f"--results {path}: file not found (expected the JSON written by the evaluator).")
        results = read_json(path, error=HubError, what="--results file")
    record = None  # the folder's own
    if args.base_model is not None:
        record = {**read_record(Path(args.path)), "base_model": args.base_model}
    return write_model_card(args.path, record=record, results=results, languages=args.language,
                            datasets=args.dataset, repo_id=args.repo_id, license=args.license)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one Hub command (``argv`` starts with its name); returns the exit status (0 ok, 2 user error)."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from ..checkpoint import resolve_checkpoint
    from ..hub import HubError, publish_demo, publish_metric, push

    try:
        if args.command == "push":
            result = push(args.path, args.repo_id, private=args.private, revision=args.revision,
                          create_pr=args.create_pr, commit_message=args.message, keep_card=args.keep_card,
                          delete_stale=not args.keep_remote_files)
        elif args.command in ("publish-metric", "publish-demo"):
            publish = publish_metric if args.command == "publish-metric" else publish_demo
            result = publish(args.path, args.repo_id, private=args.private, revision=args.revision,
                             create_pr=args.create_pr, commit_message=args.message)
        elif args.command == "card":
            print(_card(args))
            return 0
        else:
            info = resolve_checkpoint(args.name_or_path, revision=args.revision)
            print(json.dumps({"path": str(info.path), "weights": info.weights, "base_model": info.base_model,
                              "sentence_transformers": info.sentence_transformers, "repo_id": info.repo_id}))
            return 0
    except (HubError, ValueError, OSError) as exc:  # bad repo id, not a checkpoint, Hub refused: one line
        print(f"error: {exc}", file=sys.stderr)
        return 2
    state = "committed" if result.changed else "unchanged, no new commit"
    print(f"{result.url} ({state}) {result.pr_url or result.commit_url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
