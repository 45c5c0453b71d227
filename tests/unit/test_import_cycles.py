"""No import circle among the project's modules, at run time.

The layer contracts (``pyproject.toml``, checked by ``lint-imports`` in ``test_tooling``)
say which package may import which; they say nothing about two modules of one layer that
import each other, and import-linter does not see an import inside a function as anything
special. A circle still costs: the two modules cannot be understood, tested or moved apart,
and the import order decides whether a name exists yet. So this test builds the graph
itself, with plain ``ast``:

* every ``import`` / ``from ... import`` in a module of ``o2ctl``, ``actors``, ``occ`` and
  ``bench`` is an edge, wherever it stands (an import inside a function runs too, only
  later);
* an import under ``if TYPE_CHECKING:`` is not: it never runs;
* an edge goes to the most precise project module named (``from a.b import c`` goes to
  ``a.b.c`` when that is a module, else to ``a.b``); the parent packages a dotted import
  initialises on the way are not edges (as for import-linter), so a package ``__init__``
  that re-exports its modules does not make a circle of every module of the package.

It fails listing every strongly connected component of more than one module, each with
the edges that close it, so the message says what to cut.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("o2ctl", "actors", "occ", "bench")


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name → file, for every module of the project's packages."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: anywhere but under ``if TYPE_CHECKING:``."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)  # the ``else`` of TYPE_CHECKING runs
        else:
            stack.extend(ast.iter_child_nodes(node))


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _most_precise(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imported_modules(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``module`` imports at run time."""
    targets: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in runtime_imports(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                package = _package_of(module, path).split(".")
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
            names = [n for n in names[:-1] if n in modules] or [base]
        for name in names:
            target = _most_precise(name, modules)
            if target is not None and target != module:
                targets.add(target)
    return targets


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = module_files(root)
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = []
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        work.append((start, iter(sorted(graph[start]))))
        while work:
            node, successors = work[-1]
            advanced = False
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph.get(succ, ())))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def describe(component: list[str], graph: dict[str, set[str]]) -> str:
    members = set(component)
    edges = [f"    {a} -> {b}" for a in component for b in sorted(graph[a] & members)]
    return f"  {len(component)} modules: {', '.join(component)}\n" + "\n".join(edges)


def test_no_import_cycle_among_project_modules() -> None:
    graph = import_graph()
    found = cycles(graph)
    assert not found, f"{len(found)} import circle(s) at run time:\n" + "\n".join(
        describe(c, graph) for c in found
    )


def test_the_graph_sees_function_imports_and_skips_type_checking(tmp_path: Path) -> None:
    """The checker itself: a circle through a function-level import is found, one through
    a ``TYPE_CHECKING`` import is not, and relative imports resolve."""
    pkg = tmp_path / "o2ctl"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from o2ctl import b\n")
    (pkg / "b.py").write_text("from . import a\nfrom .c import X\n")
    (pkg / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from o2ctl.b import Y\nX = 1\n"
    )
    for other in PACKAGES[1:]:
        (tmp_path / other).mkdir()
    graph = import_graph(tmp_path)
    assert graph["o2ctl.a"] == {"o2ctl.b"}
    assert graph["o2ctl.b"] == {"o2ctl.a", "o2ctl.c"}
    assert graph["o2ctl.c"] == set()
    assert cycles(graph) == [["o2ctl.a", "o2ctl.b"]]
