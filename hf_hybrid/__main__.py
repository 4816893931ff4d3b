"""``python -m hf_hybrid <command> [args]`` (also installed as the ``hf-hybrid`` command).

Commands: ``train`` (same as ``train.py``), ``evaluate``, ``encode`` (same as ``python -m hf_hybrid.encode``),
``search`` (same as ``python -m hf_hybrid.search``),
and the Hub ones ``push``, ``publish-metric``, ``publish-demo``, ``card``, ``resolve``.
``python -m hf_hybrid <command> --help`` describes each.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

HUB_COMMANDS = ("push", "publish-metric", "publish-demo", "card", "resolve")
USAGE = ("usage: python -m hf_hybrid {train,evaluate,encode,search," + ",".join(HUB_COMMANDS) + "} [args]\n"
         "  train      fine-tune a dual encoder (same as train.py)\n"
         "  evaluate   LAReQA / BEIR retrieval metrics of a model\n"
         "  encode     embed a large corpus into an embedding store (sharded, resumable)\n"
         "  search     top-k search of a query store (exact or a FAISS index) -> a TREC run file\n"
         "  push, publish-metric, publish-demo, card, resolve   the Hugging Face Hub")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print(USAGE, file=sys.stderr)
        return 2
    if argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "train":
        from .commands.train import main as train

        train(rest)
        return 0
    if command == "evaluate":
        from .commands.evaluate import main as evaluate

        return evaluate(rest)
    if command == "encode":
        from .commands.encode import main as encode

        return encode(rest)
    if command == "search":
        from .commands.search import main as search

        return search(rest)
    if command in HUB_COMMANDS:
        from .commands.hub import main as hub

        return hub(argv)
    print(f"error: unknown command {command!r}\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
