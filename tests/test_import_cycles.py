"""No import cycles between the project's modules (issue 20): read from the AST, imports inside functions
included, ``if TYPE_CHECKING:`` blocks left out. ``from pkg import x`` counts as importing ``pkg`` (it runs
its ``__init__``) and ``pkg.x`` when that is a module; ``import a.b`` counts ``a.b``."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("catalog", "pipeline", "flows", "training")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imported_modules(tree: ast.AST, name: str, is_package: bool, modules: set[str]) -> set[str]:
    """Project modules imported anywhere in ``tree`` (functions included), TYPE_CHECKING blocks excluded."""
    found: set[str] = set()
    package = name if is_package else name.rpartition(".")[0]

    def resolve(mod: str) -> str | None:
        # the longest project module that ``mod`` names (``a.b.c`` may be a function c in module a.b)
        while mod:
            if mod in modules:
                return mod
            mod = mod.rpartition(".")[0]
        return None

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if (m := resolve(alias.name)) is not None:
                    found.add(m)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # ``from pkg import x`` runs pkg (its __init__ when a package) and, when x is a submodule, x
            if (m := resolve(mod)) is not None:
                found.add(m)
            for alias in node.names:
                if f"{mod}.{alias.name}" in modules:
                    found.add(f"{mod}.{alias.name}")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(name)
    return found


def import_graph(root: Path, packages=PACKAGES) -> dict[str, set[str]]:
    files = {module_name(p, root): p for pkg in packages for p in (root / pkg).rglob("*.py")
             if ".venv" not in p.parts}
    modules = set(files)
    return {name: imported_modules(ast.parse(p.read_text()), name, p.name == "__init__.py", modules)
            for name, p in files.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strongconnect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    import sys
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return sorted(out)


def test_the_checker_finds_a_constructed_cycle(tmp_path):
    pkg = tmp_path / "training"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from training.sub.b import B\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from training import a\n")          # import inside a function
    (pkg / "a.py").write_text("from .sub import b\nfrom typing import TYPE_CHECKING\n"
                              "if TYPE_CHECKING:\n    from training import c\n")
    (pkg / "c.py").write_text("import training.a\n")                                     # only TYPE_CHECKING back
    cycles = find_cycles(import_graph(tmp_path, ("training",)))
    assert cycles == [["training.a", "training.sub", "training.sub.b"]]


def test_no_import_cycles_in_the_project():
    cycles = find_cycles(import_graph(ROOT))
    if cycles:
        pytest.fail("import cycles: " + "; ".join(" <-> ".join(c) for c in cycles))
