"""The package layout of docs/architecture.md: module size, one-way dependencies, no import cycles.

Imports are read with ``ast`` (every import, the lazy ones inside functions included: a cycle hidden
behind a function-level import is still a cycle).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "hf_hybrid"
SPACES = ROOT / "spaces"
MAX_LINES = 400
#: byte-identical copies of library modules (kept identical by tests/evaluation/test_metric_space.py): their
#: size is checked on the originals
SPACE_COPIES = {"spaces/lareqa_metric/metrics_core.py", "spaces/lareqa_metric/ranking.py",
                "spaces/lareqa_metric/topk.py"}
BANNED_IN_DEMO = ("hf_hybrid.training", "hf_hybrid.commands")

#: subpackage -> the subpackages it may import (docs/architecture.md, "Import rules")
ALLOWED = {
    "data": set(),
    "sampling": {"data"},
    "checkpoint": set(),
    "modeling": {"checkpoint"},
    "evaluation": {"data", "checkpoint"},
    "hub": {"checkpoint", "evaluation"},
    "training": {"data", "sampling", "checkpoint", "modeling", "evaluation", "hub"},
    "retrieval": {"data", "checkpoint", "modeling", "evaluation"},
    "commands": {"data", "checkpoint", "modeling", "evaluation", "hub", "training", "retrieval"},
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The hf_hybrid modules that ``name`` imports (a name imported from a package counts as its module
    when such a module exists, else as the package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in MODULES else module for a in node.names]
        else:
            continue
        found.update(t for t in targets if t.split(".")[0] == "hf_hybrid" and t != name)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


#: every module whose size is checked: the package's (by module name) and the Spaces' (by path)
SIZED = {**MODULES, **{p.relative_to(ROOT).as_posix(): p for p in sorted(SPACES.rglob("*.py"))
                       if p.relative_to(ROOT).as_posix() not in SPACE_COPIES}}


@pytest.mark.parametrize("name", sorted(SIZED))
def test_module_is_small(name):
    lines = len(SIZED[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{SIZED[name].relative_to(ROOT)} has {lines} lines (> {MAX_LINES}): split it"


def _subpackage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()) else None


def test_dependencies_flow_one_way():
    wrong = []
    for name, targets in GRAPH.items():
        sub = _subpackage(name)
        if sub not in ALLOWED:
            continue
        for target in targets:
            other = _subpackage(target)
            if other is not None and other != sub and other not in ALLOWED[sub]:
                wrong.append(f"{name} imports {target}")
    assert not wrong, "imports against docs/architecture.md:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles():
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH.get(node, ())):
            if nxt == "hf_hybrid" or nxt not in GRAPH:
                continue  # the lazy top-level API (and __version__) is not a dependency
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)
    # a package __init__ re-exporting its own modules is not a cycle of concepts
    real = [c for c in cycles if not all(part.startswith(c.split(" -> ")[0]) for part in c.split(" -> "))]
    assert not real, "import cycles:\n" + "\n".join(real)


def _is_banned(module: str) -> bool:
    return any(module == b or module.startswith(b + ".") for b in BANNED_IN_DEMO)


def test_demo_space_imports_no_training_code():
    """The import statements of spaces/demo (every one, those inside functions too)."""
    for path in sorted((SPACES / "demo").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            banned = [n for n in names if _is_banned(n)]
            assert not banned, f"{path.name}, line {node.lineno} imports {banned[0]}"


#: run in a fresh interpreter: load spaces/demo as its tests do, search, and evaluate a model whose (old,
#: flat) training record makes the demo recompute the held-out split; print the hf_hybrid modules loaded
_DEMO_RUN = r"""
import json, sys
from pathlib import Path
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/spaces"]
from demo_support import load_demo_modules
from tiny import make_tiny_encoder

app, backend = load_demo_modules()
texts = ["Warschau liegt an der Weichsel.", "Warsaw lies on the Vistula."]
model = make_tiny_encoder(Path(sys.argv[2]) / "model", texts)
record = {"data_args": {"train_data": "bundled", "test_articles": 2, "split_seed": 3, "eval_data": None}}
(model / "hf_hybrid_training.json").write_text(json.dumps(record), encoding="utf-8")
engine = backend.DemoEngine(disk_cache=False)
corpus = backend.parse_corpus("de\t" + texts[0] + "\nen\t" + texts[1])
assert [r["passage"] for r in engine.search(texts[1], str(model), corpus, k=2).rows][0] == texts[1]
assert len(engine.evaluate(str(model), ["de"], "held-out").articles) == 2
print(json.dumps(sorted(m for m in sys.modules if m.startswith("hf_hybrid"))))
"""


def test_demo_space_loads_no_training_code_at_run_time(tmp_path):
    """What the demo imports when it runs (lazy imports, importlib, the held-out split included)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HYBRID_DEMO_CACHE": str(tmp_path / "cache"),
           "HF_HYBRID_DEMO_MODELS": str(tmp_path / "model")}  # the Space owner's allow-list
    proc = subprocess.run([sys.executable, "-c", _DEMO_RUN, str(ROOT / "tests"), str(tmp_path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {"hf_hybrid.modeling", "hf_hybrid.evaluation", "hf_hybrid.data"} <= set(loaded)  # it did run
    assert [m for m in loaded if _is_banned(m)] == []
