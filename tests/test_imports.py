"""The house stays one-way: no module of ``studio/`` imports, directly or through others,
a module that imports it back.

The imports are read from the source with ``ast`` (nothing is imported), every kind
counts: top level, inside functions (the lazy imports that hid loops before), and
under ``if TYPE_CHECKING:``. A cycle fails the test with its path, e.g.
``studio.run.local -> studio.run.identity -> studio.run.local``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]


def module_names(root: Path, package: str) -> dict[str, tuple[Path, bool]]:
    """``{dotted name: (file, is a package's __init__)}`` for every module under ``root/package``."""
    modules: dict[str, tuple[Path, bool]] = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        modules[".".join(parts)] = (path, is_package)
    return modules


def import_graph(root: Path, package: str) -> nx.DiGraph:
    """Edges ``importer -> imported`` between the modules of ``package``, with the line."""
    modules = module_names(root, package)

    def resolve(name: str) -> str | None:
        while name and name not in modules:  # `from a.b import name`: name may be a function
            name = name.rpartition(".")[0]
        return name or None

    graph = nx.DiGraph()
    for name, (path, is_package) in modules.items():
        graph.add_node(name)
        here = name if is_package else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here
                    for _ in range(node.level - 1):
                        anchor = anchor.rpartition(".")[0]
                    base = f"{anchor}.{base}" if node.module else anchor
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    targets.append(submodule if submodule in modules else base)
            for target in targets:
                if target == package or target.startswith(package + "."):
                    resolved = resolve(target)
                    if resolved and resolved != name:
                        graph.add_edge(name, resolved, line=node.lineno)
    return graph


def cycles(graph: nx.DiGraph) -> list[list[str]]:
    """One cycle per strongly connected group of modules that import each other."""
    found = []
    for group in nx.strongly_connected_components(graph):
        if len(group) > 1:
            found.append(nx.find_cycle(graph.subgraph(group)))
    return [[a for a, _ in cycle] + [cycle[0][0]] for cycle in found]


def test_studio_has_no_import_cycles() -> None:
    graph = import_graph(ROOT, "studio")
    assert graph.number_of_nodes() > 80 and graph.number_of_edges() > 150  # the walker sees the package
    loops = cycles(graph)
    assert not loops, "import cycles:\n" + "\n".join(" -> ".join(loop) for loop in loops)


def test_the_walker_finds_a_cycle_through_a_lazy_import(tmp_path: Path) -> None:
    pkg = tmp_path / "house"
    (pkg / "run").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "run" / "__init__.py").write_text("")
    (pkg / "run" / "local.py").write_text("from house.run.identity import check\n")
    (pkg / "run" / "identity.py").write_text("def check():\n    from .local import render  # lazy\n")
    (pkg / "tidy.py").write_text("from house.run import local\nfrom . import run\n")
    graph = import_graph(tmp_path, "house")
    assert set(graph.edges) == {("house.run.local", "house.run.identity"), ("house.run.identity", "house.run.local"),
                                ("house.tidy", "house.run.local"), ("house.tidy", "house.run")}
    assert cycles(graph) in (
        [["house.run.local", "house.run.identity", "house.run.local"]],
        [["house.run.identity", "house.run.local", "house.run.identity"]],
    )
