"""``python -m hf_hybrid.encode``: the same command as ``python -m hf_hybrid encode`` (:mod:`hf_hybrid.commands.encode`)."""

import sys

from hf_hybrid.commands.encode import main

if __name__ == "__main__":
    sys.exit(main())
