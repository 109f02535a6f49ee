"""The package's import graph: no cycle between modules of ``moderation/``, and no import of ``training``.

Every module is parsed with ``ast`` and every import statement counts, including the
ones inside functions (a cycle hidden in a function body is still a cycle between
the modules' responsibilities).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "moderation"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def imported_names(path: Path, name: str) -> set[str]:
    """Absolute names of everything ``path`` imports (modules, or ``module.attribute`` for ``from`` imports)."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            out.add(source)
            out.update(f"{source}.{alias.name}" for alias in node.names)
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> modules of the package it imports (``from . import x`` counts as importing ``x``)."""
    modules = package_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in imported_names(path, name):
            # the longest prefix that is a module of the package: moderation.model.Moderator -> moderation.model
            parts = imported.split(".")
            for end in range(len(parts), 0, -1):
                candidate = ".".join(parts[:end])
                if candidate in modules:
                    targets.add(candidate)
                    break
        targets.discard(name)
        # importing a submodule runs its package's __init__ first; that is not an edge of the graph
        graph[name] = {t for t in targets if not (t == PACKAGE and name != PACKAGE)}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_graph_sees_function_level_imports():
    graph = import_graph()
    # moderation/__init__.py imports .model only inside __getattr__
    assert "moderation.model" in graph["moderation"]
    assert "moderation.labels" in graph["moderation.policy"]
    assert "moderation.labelling" in graph["moderation.integrations.ray"]


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_package_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_package_never_imports_training():
    offenders = {}
    for name, path in package_modules().items():
        found = sorted(n for n in imported_names(path, name)
                       if n.split(".")[0] in ("training", "moderation_training"))
        if found:
            offenders[name] = found
    assert not offenders, f"moderation imports the training package: {offenders}"
