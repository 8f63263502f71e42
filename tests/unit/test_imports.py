"""The import graph (docs/architecture.md): arrows only downward, api ->
projections -> lifecycle (or api -> lifecycle); lifecycle/ and projections/
never import Flask; no module imports itself through others. Imports inside
functions count; imports only for type checkers do not (they never run)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("lifecycle", "projections", "api")
LAYER = {"lifecycle": 0, "projections": 1, "api": 2}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(name: str) -> set[str]:
    """Every module `name` imports when it runs."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    found: set[str] = set()
    skip = {id(n) for top in ast.walk(tree) if _type_checking_only(top) for n in ast.walk(top)}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
    return found


GRAPH = {name: {m for m in imports(name) if m in MODULES and m != name} for name in MODULES}


def test_arrows_point_down_the_layers():
    upward = [(a, b) for a, targets in GRAPH.items() for b in targets
              if LAYER[b.split(".")[0]] > LAYER[a.split(".")[0]]]
    assert upward == []


def test_lifecycle_and_projections_never_import_flask():
    offenders = [(name, m) for name in MODULES if name.split(".")[0] != "api"
                 for m in imports(name) if m.split(".")[0] in ("flask", "flask_smorest", "werkzeug")]
    assert offenders == []


def test_no_import_cycles():
    """Depth-first search for a back edge; the cycle is named if there is one."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(GRAPH):
        if start not in state and (cycle := visit(start)):
            raise AssertionError(" -> ".join(cycle))


def test_the_graph_is_what_the_architecture_notes_say():
    """A sanity check of the parser: known arrows are found."""
    assert "lifecycle.commands" in GRAPH["lifecycle.workflow"]
    assert "projections.register" in GRAPH["api.bootstrap"]
    assert "lifecycle.application" in GRAPH["projections.register"]
