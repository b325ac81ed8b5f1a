"""The package's layout stays as README's "How it works" describes it, and its modules
never import each other in a circle.

The import graph is read from the source with ``ast``, not by importing: every
``import`` and ``from ... import`` of a watcher module counts, wherever it stands (at the
top, inside a function, under ``if TYPE_CHECKING:``), because an import moved into a
function to dodge a cycle still leaves the two modules tangled. Importing ``a.b.c``
also runs the package ``a.b``'s ``__init__`` (unless the importer is inside ``a.b``, which
is then already being imported), so those edges count too: a re-export in an
``__init__`` can close a cycle that no two modules show on their own.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "watcher"


def module_files(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> its file, for every module and package under ``package``."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _imported_names(tree: ast.Module, module: str, is_package: bool) -> Iterator[str]:
    """Every dotted name the module imports, relative imports resolved; for ``from X
    import y`` both ``X.y`` (in case y is a submodule) and ``X``."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            yield source
            yield from (f"{source}.{alias.name}" for alias in node.names)


def _ancestors(name: str) -> list[str]:
    """``a.b.c`` -> ``a``, ``a.b``, ``a.b.c``."""
    parts = name.split(".")
    return [".".join(parts[:k]) for k in range(1, len(parts) + 1)]


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the watcher modules that importing it runs (see the module docstring)."""
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        own = set(_ancestors(module))  # already being imported when this module runs
        targets: set[str] = set()
        for name in _imported_names(tree, module, path.name == "__init__.py"):
            targets.update(a for a in _ancestors(name) if a in modules and a not in own)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_no_import_cycles() -> None:
    graph = import_graph(module_files())
    tangled = cycles(graph)
    assert not tangled, "modules that import each other in a circle:\n" + "\n".join(
        "  " + ", ".join(f"{m} -> {sorted(graph[m] & set(c))}" for m in c) for c in tangled)


def test_the_graph_sees_imports_inside_functions_and_packages(tmp_path: Path) -> None:
    # The checker itself: a cycle closed by an import inside a function, and one closed
    # through a package's __init__, are both found.
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg import b\n")
    (package / "b.py").write_text("from . import a\n")
    (package / "sub" / "__init__.py").write_text("from pkg.sub.c import x\n")
    (package / "sub" / "c.py").write_text("from pkg.d import y\nx = 1\n")
    (package / "d.py").write_text("from typing import TYPE_CHECKING\n"
                                  "if TYPE_CHECKING:\n    from pkg.sub.e import z\ny = 1\n")
    (package / "sub" / "e.py").write_text("z = 1\n")
    assert cycles(import_graph(module_files(package))) == [
        ["pkg.a", "pkg.b"], ["pkg.d", "pkg.sub", "pkg.sub.c"]]


# The top of the package, as README's "How it works" draws and lists it: the stages in
# pipeline order, the module where they meet and the values they pass, the service that
# runs them, the two faces, and what sits beside. A new top-level module or package is a
# decision about the layout: make it here and in the README together.
STAGES = ["fetch", "read", "extract", "diff", "store", "rules", "delivery"]
TOP_LEVEL_MODULES = ["models.py", "errors.py", "display.py", "pipeline.py"]
TOP_LEVEL_PACKAGES = [*STAGES, "service", "cli", "web", "config", "eval"]
PACKAGE_FILES = ["__init__.py", "__main__.py", "py.typed"]


def test_the_top_level_holds_only_the_documented_modules_and_packages() -> None:
    entries = {p.name for p in PACKAGE.iterdir() if p.name != "__pycache__"}
    expected = {*TOP_LEVEL_MODULES, *TOP_LEVEL_PACKAGES, *PACKAGE_FILES}
    assert entries == expected, (
        f"not in the documented layout: {sorted(entries - expected)}; "
        f"missing: {sorted(expected - entries)}")
    for package in TOP_LEVEL_PACKAGES:
        assert (PACKAGE / package / "__init__.py").is_file(), package


def test_the_readme_lists_the_layout_in_pipeline_order() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## How it works"):readme.index("### Configuration")]
    rows = [line.split("|")[1].strip().strip("`") for line in section.splitlines()
            if line.startswith("| `watcher/")]
    listed = [row.removeprefix("watcher/").rstrip("/").removesuffix(".py") for row in rows]
    expected = [m.removesuffix(".py") for m in TOP_LEVEL_MODULES] + TOP_LEVEL_PACKAGES
    assert sorted(listed) == sorted(expected), "README's table and the tree differ"
    drawing = section[section.index("```"):section.index("```", section.index("```") + 3)]
    drawn = [stage for stage in STAGES if f"{stage}/" in drawing]
    assert sorted(drawn, key=lambda stage: drawing.index(f"{stage}/")) == STAGES, (
        "README's drawing must show every stage package, in pipeline order")
    assert [r for r in listed if r in STAGES] == STAGES, "the table lists the stages in order"
