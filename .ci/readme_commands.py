"""Print a command of the README's Quickstart block: `main` (the first) or `test` (the one running pytest)."""

import re
import sys
from pathlib import Path

text = Path(__file__).resolve().parents[1].joinpath("README.md").read_text(encoding="utf-8")
m = re.search(r"^#+ *Quick ?start.*?```[a-zA-Z]*\n(.*?)```", text, re.S | re.M | re.I)
if not m:
    sys.exit("README.md has no Quickstart section with a code block")
cmds = [l.strip().removeprefix("$ ") for l in m.group(1).splitlines() if l.strip() and not l.strip().startswith("#")]
which = sys.argv[1] if len(sys.argv) > 1 else "test"
pick = [c for c in cmds if ("pytest" in c) == (which == "test")]
if not pick:
    sys.exit(f"no {which} command in the README Quickstart block")
print(pick[0])
