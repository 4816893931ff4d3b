"""``python -m hf_hybrid.search``: the same command as ``python -m hf_hybrid search`` (:mod:`hf_hybrid.commands.search`)."""

import sys

from hf_hybrid.commands.search import main

if __name__ == "__main__":
    sys.exit(main())
