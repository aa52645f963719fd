"""natsim's shape: no import cycle (imports inside functions count), no module over 400 lines, no
function over 60 lines, no two modules with the same name, and the engine (``natsim.sim``) importing
no kind, no lab and no run layer."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2] / "natsim"


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    parts = name.split(".")
    while parts:
        if ".".join(parts) in modules:
            return ".".join(parts)
        parts.pop()
    return None


def import_graph() -> dict[str, set[str]]:
    """Module → natsim modules it imports anywhere in its body."""
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base]) if base else ".".join(anchor)
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            for target in targets:
                found = _resolve(target, modules)
                if found is not None and found != name:
                    graph[name].add(found)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_cycle_detection_works() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_engine_imports_no_kind_lab_or_run_layer() -> None:
    graph = import_graph()
    upward = sorted((m, t) for m, targets in graph.items() if m.startswith("natsim.sim")
                    for t in targets if t.startswith(("natsim.middleboxes", "natsim.probes",
                                                      "natsim.lab", "natsim.run", "natsim.scenario")))
    assert upward == []


@pytest.mark.parametrize("path", sorted(ROOT.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_and_function_sizes(path: Path) -> None:
    source = path.read_text()
    assert len(source.splitlines()) <= 400, f"{path} has {len(source.splitlines())} lines"
    long = [f"{n.name} ({n.end_lineno - n.lineno + 1} lines)" for n in ast.walk(ast.parse(source))
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.end_lineno is not None
            and n.end_lineno - n.lineno + 1 > 60]
    assert long == []


def test_no_two_modules_share_a_name() -> None:
    """Module names are unique, except the command modules (named after their command) and the roles a
    kind's or a kind family's folder has (config, render, model, options, driver, registry, ...); no
    module of the engine shadows a natsim package."""
    roles = {"config", "render", "model", "options", "driver", "kinds", "policy", "runtime", "registry",
             "cli", "labrun"}
    names = Counter(p.stem for p in ROOT.rglob("*.py")
                    if p.stem not in ("__init__", "__main__") and p.parent.name != "commands")
    assert sorted(n for n, c in names.items() if c > 1 and n not in roles) == []
    packages = {p.parent.name for p in ROOT.rglob("__init__.py")}
    assert sorted(p.stem for p in (ROOT / "sim").glob("*.py") if p.stem in packages) == []
    assert (not list(ROOT.rglob("runner.py")) and not list(ROOT.rglob("ladder.py"))) or \
        [p.relative_to(ROOT) for p in ROOT.rglob("ladder.py")] == [Path("analysis/ladder.py")]
