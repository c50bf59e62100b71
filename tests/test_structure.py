"""The shape of the package: imports flow one way, and no module imports itself in a loop.

Walks every import statement in ``src/ulterior`` (at module level and inside functions,
where the heavy and the optional ones live) with ``ast``.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "ulterior"

# The packages that everything else stands on: they import none of the packages above them.
FOUNDATIONS = {
    "errors": set(),
    "records": set(),
    "stats": set(),
    "store": {"errors", "records"},
    "models": {"errors", "records", "stats", "store"},
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Module -> the ``ulterior`` modules it imports (a name taken from a package counts as
    the package, or as the submodule when the name is one)."""
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules
                           else node.module for a in node.names]
            else:
                continue
            graph[name] |= {t for t in targets if t.startswith("ulterior") and t in modules}
    return graph


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_the_foundations_import_nothing_above_them() -> None:
    offending = [
        f"{module} imports {target}"
        for module, targets in _imports().items() if _package(module) in FOUNDATIONS
        for target in targets
        if _package(target) not in {_package(module), "", *FOUNDATIONS[_package(module)]}
    ]
    assert offending == []


def test_no_package_imports_another_in_a_loop() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, targets in _imports().items():
        for target in targets:
            if _package(module) and _package(target) and _package(module) != _package(target):
                edges[_package(module)].add(_package(target))
    assert _cycles(edges) == []


def test_no_module_imports_another_in_a_loop() -> None:
    # a package's __init__ only hands names on: edges into it stand for its modules
    graph = {m: {t for t in targets if not _is_package(t) or t == m}
             for m, targets in _imports().items() if not _is_package(m)}
    assert _cycles(graph) == []


def test_no_module_reaches_into_another_packages_private_module() -> None:
    offending = [
        f"{module} imports {target}"
        for module, targets in _imports().items() for target in targets
        if target.split(".")[-1].startswith("_") and _package(target) != _package(module)
    ]
    assert offending == []


def _is_package(module: str) -> bool:
    return (SRC.parent / module.replace(".", "/") / "__init__.py").is_file()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of more than one node (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)
