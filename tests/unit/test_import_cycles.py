"""No import cycles in our packages, between modules or between sub-packages (issue 14).

The graph is read from the source with `ast`, not by importing it: an import at module level is an edge that
must never close a cycle; an import inside a function (a lazy import, kept for start-up time or to dodge a
cycle) is still a dependency, so a cycle it closes fails too unless that edge is in LAZY_ALLOWED with the
reason. Imports under `if TYPE_CHECKING:` do not run and are not edges. Importing `a.b.c` also runs
`a/b/__init__.py`: that is an edge too, unless the importer is itself inside `a.b`.

The sub-package graph merges each module into its sub-package (`pyruncd.containers.store` ->
`pyruncd.containers`; a top-level module such as `pyruncd.db` is its own node): a cycle there, even one made
of lazy imports, means two parts of a package cannot be understood or tested apart.
"""

import ast
from collections import deque
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = {
    "pyrunc": REPO / "runtime/src/pyrunc",
    "pyrunc_shim": REPO / "shim/src/pyrunc_shim",
    "pyrunc_ttrpc": REPO / "ttrpc/src/pyrunc_ttrpc",
    "pyrunc_dockerignore": REPO / "dockerignore/src/pyrunc_dockerignore",
    "pyruncd": REPO / "daemon/src/pyruncd",
    "pyctl": REPO / "cli/src/pyctl",
}

# (importer, imported) -> why this function-level import may close a cycle.
LAZY_ALLOWED: dict[tuple[str, str], str] = {}

# (sub-package, sub-package) -> why this dependency may close a sub-package cycle.
PACKAGE_ALLOWED: dict[tuple[str, str], str] = {}


def _modules(package: str) -> dict[str, Path]:
    root = PACKAGES[package]
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module):
    """Yield (node, lazy) for each import that runs, lazy when it is inside a function."""

    def walk(node: ast.AST, lazy: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, lazy
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.orelse:
                    yield from walk(ast.Module(body=[stmt], type_ignores=[]), lazy)
            else:
                inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                yield from walk(child, inner)

    yield from walk(tree, False)


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module of ours that `name` (a module or a name inside one) lands in, or None."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(package: str) -> dict[str, dict[str, bool]]:
    """module -> {imported module: lazy}; lazy only when every import of that edge is in a function."""
    modules = _modules(package)
    graph: dict[str, dict[str, bool]] = {name: {} for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node, lazy in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")
                    drop = node.level - 1 if is_package else node.level
                    anchor = anchor[: len(anchor) - drop]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                resolved = _resolve(target, modules)
                if resolved is None:
                    continue
                parts = resolved.split(".")
                for depth in range(2, len(parts) + 1):
                    step = ".".join(parts[:depth])
                    inside = name.startswith(step + ".") and step != resolved
                    if step != name and not inside:
                        graph[name][step] = graph[name].get(step, True) and lazy
    return graph


def package_graph(package: str, graph: dict[str, dict[str, bool]]) -> dict[str, set[str]]:
    def part(module: str) -> str:
        return ".".join(module.split(".")[:2])

    merged: dict[str, set[str]] = {part(m): set() for m in graph}
    for module, targets in graph.items():
        merged[part(module)].update(part(t) for t in targets if part(t) != part(module))
    return merged


def _components(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def cycles(graph: dict[str, set[str]]) -> list[str]:
    """One shortest cycle through each node that is on one, as "a -> b -> a" from its least node, no repeats."""
    chains = []
    seen = set()
    for component in _components(graph):
        members = set(component)
        for start in component:
            parent = {start: None}
            queue = deque([start])
            path = None
            while queue and path is None:
                node = queue.popleft()
                for child in sorted(graph[node] & members):
                    if child == start:
                        path = [child]
                        while node is not None:
                            path.append(node)
                            node = parent[node]
                        path.reverse()
                        break
                    if child not in parent:
                        parent[child] = node
                        queue.append(child)
            first = path.index(min(path[:-1]))
            path = path[first:-1] + path[:first] + [path[first]]
            key = tuple(path)
            if key not in seen:
                seen.add(key)
                chains.append(" -> ".join(path))
    return chains


def _edges(graph: dict[str, dict[str, bool]], lazy_too: bool) -> dict[str, set[str]]:
    return {
        module: {t for t, lazy in targets.items() if lazy_too or not lazy}
        for module, targets in graph.items()
    }


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_level_cycles(package):
    found = cycles(_edges(import_graph(package), lazy_too=False))
    assert not found, "import cycles at module level:\n" + "\n".join(found)


@pytest.mark.parametrize("package", PACKAGES)
def test_lazy_imports_close_no_cycle_unless_allowed(package):
    graph = _edges(import_graph(package), lazy_too=True)
    for importer, imported in LAZY_ALLOWED:
        graph.get(importer, set()).discard(imported)
    found = cycles(graph)
    assert not found, "import cycles (a lazy import is still one) not in LAZY_ALLOWED:\n" + "\n".join(found)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_sub_package_cycles(package):
    graph = package_graph(package, import_graph(package))
    for importer, imported in PACKAGE_ALLOWED:
        graph.get(importer, set()).discard(imported)
    found = cycles(graph)
    assert not found, "sub-package cycles not in PACKAGE_ALLOWED:\n" + "\n".join(found)


def test_allow_lists_hold_no_stale_entry():
    """An allowed edge that no longer exists, or no longer closes a cycle, is removed from the list."""
    stale = []
    for allowed, build in ((LAZY_ALLOWED, None), (PACKAGE_ALLOWED, package_graph)):
        for importer, imported in allowed:
            package = importer.split(".")[0]
            modules = import_graph(package)
            graph = build(package, modules) if build else _edges(modules, lazy_too=True)
            if imported not in graph.get(importer, set()):
                stale.append(f"{importer} -> {imported}: no such import")
            elif not any(importer in c for c in _components(graph) if imported in c):
                stale.append(f"{importer} -> {imported}: closes no cycle")
            elif build is None and not modules[importer][imported]:
                stale.append(f"{importer} -> {imported}: imported at module level, not lazily")
    assert not stale, "\n".join(stale)


def test_cycle_finder_names_each_chain():
    graph = {"p.a": {"p.b"}, "p.b": {"p.a", "p.c"}, "p.c": {"p.b"}, "p.d": {"p.a"}}
    assert sorted(cycles(graph)) == ["p.a -> p.b -> p.a", "p.b -> p.c -> p.b"]
    assert cycles({"p.a": {"p.b"}, "p.b": set()}) == []


def test_graph_resolves_relative_and_lazy_imports(tmp_path, monkeypatch):
    pkg = tmp_path / "demo"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub/__init__.py").write_text("from . import leaf\n")
    (pkg / "sub/leaf.py").write_text(
        "from typing import TYPE_CHECKING\nfrom ..top import x\nif TYPE_CHECKING:\n    from demo import other\n"
    )
    (pkg / "top.py").write_text("import os\ndef f():\n    from .sub.leaf import y\n")
    (pkg / "other.py").write_text("")
    monkeypatch.setitem(PACKAGES, "demo", pkg)
    graph = import_graph("demo")
    assert graph["demo.sub"] == {"demo.sub.leaf": False}
    assert graph["demo.sub.leaf"] == {"demo.top": False}
    assert graph["demo.top"] == {"demo.sub.leaf": True, "demo.sub": True}
    assert package_graph("demo", graph)["demo.top"] == {"demo.sub"}
