"""The package picture stays honest: each floor imports only the floors below it, and no module
imports itself back through a circle (top-level or inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "ttv"

# What each floor may import from ttv. `commands` (and the entry modules cli/completions/__main__)
# sit on top; `tui` reads the project through the kernel only.
ALLOWED: dict[str, set[str]] = {
    "core": {"core"},
    "backends": {"core", "backends"},
    "pipeline": {"core", "backends", "pipeline"},
    "tui": {"core", "tui"},
    "commands": {"core", "backends", "pipeline", "tui", "commands", "entry"},
    "entry": {"core", "backends", "pipeline", "tui", "commands", "entry"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _floor(module: str) -> str:
    parts = module.split(".")
    if len(parts) < 2 or parts[1] not in ALLOWED:
        return "entry"  # ttv, ttv.cli, ttv.completions, ttv.__main__
    return parts[1]


def _imports(path: Path) -> set[str]:
    """Every ttv module this file imports, wherever the import statement sits."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "ttv")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            if base.split(".")[0] != "ttv":
                continue
            for alias in node.names:  # `from ttv.core import keys` imports the module ttv.core.keys
                candidate = f"{base}.{alias.name}"
                found.add(candidate if _is_module(candidate) else base)
    return found


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (ROOT.parent / rel).with_suffix(".py").is_file() or (ROOT.parent / rel / "__init__.py").is_file()


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in sorted(ROOT.rglob("*.py"))}


def test_every_floor_imports_only_floors_below_it() -> None:
    wrong = []
    for module, targets in _graph().items():
        floor = _floor(module)
        for target in sorted(targets):
            if target == "ttv":  # the package root (its __version__) belongs to no floor
                continue
            if _floor(target) not in ALLOWED[floor]:
                wrong.append(f"{module} ({floor}) imports {target} ({_floor(target)})")
    assert not wrong, "imports that run back up:\n" + "\n".join(wrong)


def test_no_import_circles() -> None:
    graph = _graph()
    # Tarjan's strongly connected components; a component of more than one module is a circle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in graph:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    assert not circles, f"import circles: {circles}"


@pytest.mark.parametrize("floor", ["core", "backends", "pipeline", "tui", "commands"])
def test_floor_exists_and_is_not_empty(floor: str) -> None:
    # Guards the test itself: a renamed floor would make the checks above vacuous.
    assert any(_floor(m) == floor for m in _graph())
