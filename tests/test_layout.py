"""The package layout of docs/architecture.md: module size, one-way dependencies, no import cycles.

Imports are read with ``ast`` (every import, the lazy ones inside functions included: a cycle hidden
behind a function-level import is still a cycle).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "hf_hybrid"
MAX_LINES = 400

#: subpackage -> the subpackages it may import (docs/architecture.md, "Import rules")
ALLOWED = {
    "data": set(),
    "sampling": {"data"},
    "checkpoint": set(),
    "modeling": {"checkpoint"},
    "evaluation": {"data", "checkpoint"},
    "hub": {"checkpoint", "evaluation"},
    "training": {"data", "sampling", "checkpoint", "modeling", "evaluation", "hub"},
    "commands": {"data", "checkpoint", "modeling", "evaluation", "hub", "training"},
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


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_is_small(name):
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name].relative_to(ROOT)} has {lines} lines (> {MAX_LINES}): split it"


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


def test_demo_space_imports_no_training_code():
    for path in (ROOT / "spaces" / "demo").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for banned in ("hf_hybrid.training", "hf_hybrid.commands"):
            assert banned not in text, f"{path.name} imports {banned}"
