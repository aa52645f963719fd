"""natsim's shape: imports point down the layer order docs/architecture.md states (the table there is
read, so the doc and the check cannot differ), every module has a layer, no import cycle (imports inside
functions count), no kind's folder imports another kind's, no module over 400 lines, no function over
60 lines, no two modules with the same name."""

from __future__ import annotations

import ast
import re
from collections import Counter
from importlib.metadata import distribution
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2] / "natsim"
ARCHITECTURE = ROOT.parent / "docs" / "architecture.md"


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


def later_target(node: ast.AST) -> str:
    """The module a call ``later("module:name")`` (:mod:`natsim.later`) imports when first called, or ""
    (not such a call). Only a literal is followed: natsim's kinds name their targets literally."""
    if not (isinstance(node, ast.Call) and node.args and
            isinstance(node.func, ast.Name | ast.Attribute) and
            (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) in ("later", "Later")):
        return ""
    arg = node.args[0]
    return arg.value.partition(":")[0] if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else ""


def import_graph() -> dict[str, set[str]]:
    """Module → natsim modules it imports anywhere in its body, or names in a ``later(...)`` call."""
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
            elif deferred := later_target(node):   # natsim.later: an import made when first called
                targets = [deferred]
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


# ---- the layer order, as docs/architecture.md states it --------------------------------------------

def stated_layers(text: str) -> list[tuple[str, list[str]]]:
    """(layer, its entries) from the doc's layer table, lowest first; an entry is a path under natsim/
    (``sim/``, ``report/schema.py``)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| layer | modules |"))
    layers = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        name, modules, _ = (cell.strip() for cell in line.strip("|").split(" | ", 2))
        layers.append((name, re.findall(r"`([^`]+)`", modules)))
    return layers


def entry_module(entry: str) -> str:
    """``sim/`` → ``natsim.sim``; ``report/schema.py`` → ``natsim.report.schema``; ``__init__.py`` →
    ``natsim``."""
    parts = ["natsim", *entry.removesuffix("/").removesuffix(".py").split("/")]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str, layers: list[tuple[str, list[str]]]) -> int | None:
    """The rank (0: lowest) of the layer whose most specific entry holds ``module``."""
    best: tuple[int, int] | None = None
    for rank, (_, entries) in enumerate(layers):
        for entry in entries:
            prefix = entry_module(entry)
            folder = entry.endswith("/")
            if module == prefix or (folder and module.startswith(prefix + ".")):
                specific = len(prefix) + (0 if folder else 1)
                if best is None or specific > best[0]:
                    best = (specific, rank)
    return None if best is None else best[1]


def upward(graph: dict[str, set[str]], layers: list[tuple[str, list[str]]]) -> list[str]:
    """Every import that points to a higher layer, as ``a (layer) -> b (layer)``."""
    names = [name for name, _ in layers]
    found = []
    for module, targets in sorted(graph.items()):
        mine = layer_of(module, layers)
        for target in sorted(targets):
            theirs = layer_of(target, layers)
            if mine is not None and theirs is not None and theirs > mine:
                found.append(f"{module} ({names[mine]}) -> {target} ({names[theirs]})")
    return found


LAYERS = stated_layers(ARCHITECTURE.read_text())


def test_the_doc_states_the_layers() -> None:
    assert [name for name, _ in LAYERS] == ["core", "engine", "kinds", "scenario", "lab", "report", "run",
                                            "evidence", "interface"]


def test_every_stated_module_exists() -> None:
    missing = [entry for _, entries in LAYERS for entry in entries
               if not (ROOT / entry).is_dir() if entry.endswith("/")] + \
              [entry for _, entries in LAYERS for entry in entries
               if not entry.endswith("/") and not (ROOT / entry).is_file()]
    assert missing == []


def test_every_module_has_a_layer() -> None:
    assert sorted(m for m in import_graph() if layer_of(m, LAYERS) is None) == []


def test_imports_point_down_the_stated_layers() -> None:
    assert upward(import_graph(), LAYERS) == []


def test_the_layer_check_finds_an_upward_import() -> None:
    layers = [("low", ["errors.py", "report/schema.py"]), ("mid", ["report/"]), ("high", ["cli.py"])]
    graph = {"natsim.errors": {"natsim.report.summary"}, "natsim.report.schema": set(),
             "natsim.report.summary": {"natsim.report.schema", "natsim.cli"}, "natsim.cli": {"natsim.errors"}}
    assert upward(graph, layers) == ["natsim.errors (low) -> natsim.report.summary (mid)",
                                     "natsim.report.summary (mid) -> natsim.cli (high)"]
    assert layer_of("natsim.report.schema", layers) == 0 and layer_of("natsim.report", layers) == 1


# ---- kinds --------------------------------------------------------------------------------------

def kind_packages() -> list[str]:
    """The packages natsim's own kinds live in, from its entry points (``natsim.middleboxes.nat44``,
    ``natsim.probes.tcp``: a probe family's folder)."""
    found = set()
    for point in distribution("natsim").entry_points:
        module = point.value.partition(":")[0]
        if point.group == "natsim.middleboxes":
            found.add(module)
        elif point.group == "natsim.probes":
            found.add(module.rpartition(".")[0])
    return sorted(found)


def cross_kind(graph: dict[str, set[str]], packages: list[str]) -> list[str]:
    """Imports from one kind's folder into another's."""
    def owner(module: str) -> str | None:
        return next((p for p in packages if module == p or module.startswith(p + ".")), None)

    return sorted(f"{m} -> {t}" for m, targets in graph.items() for t in targets
                  if owner(m) is not None and owner(t) is not None and owner(m) != owner(t))


def test_no_kind_imports_another_kind() -> None:
    packages = kind_packages()
    assert {"natsim.middleboxes.ssh_proxy", "natsim.probes.ssh", "natsim.probes.tcp"} <= set(packages)
    assert cross_kind(import_graph(), packages) == []
    assert cross_kind({"natsim.probes.ssh.model": {"natsim.middleboxes.ssh_proxy.model"}}, packages) == \
        ["natsim.probes.ssh.model -> natsim.middleboxes.ssh_proxy.model"]


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
