"""Every module path named in docs/ (and the README) exists.

A path with a folder (``sim/world.py``, ``probes/<family>/options.py``) must be a file of the project
(``<...>`` stands for any folder), found from the project's root, from ``natsim/``, or as the end of a
project file's path (``ssh/model.py``); a bare name (``world.py``) must be the name of a project file.
Placeholders in capitals (``FILE.py``) and a user's own paths (absolute, ``./``, ``../``) are not natsim's.
A path under a third-party package (``mininet/node.py``) must be a file of that installed package.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

PROJECT = Path(__file__).parents[2]
DOCS = [*sorted((PROJECT / "docs").glob("*.md")), PROJECT / "README.md"]
FOLDERS = ("natsim", "scenarios", "topologies", "tests", "benchmarks", "examples", "docs")
_PATH = re.compile(r"(?<![\w./<>-])([\w./<>-]*[\w>]\.py)\b")


def project_files() -> list[str]:
    """Every Python file of the project, as a path from its root."""
    return sorted(p.relative_to(PROJECT).as_posix() for folder in FOLDERS
                  for p in (PROJECT / folder).rglob("*.py") if "__pycache__" not in p.parts) + \
        [p.name for p in PROJECT.glob("*.py")]


def named_paths(text: str) -> list[str]:
    """The module paths ``text`` names (placeholders and a user's own paths left out)."""
    found = []
    for path in _PATH.findall(text):
        if path.startswith(("/", "./", "../")) or re.fullmatch(r"[A-Z_]+\.py", path):
            continue
        found.append(path)
    return sorted(set(found))


def exists(path: str, files: list[str]) -> bool:
    """Whether ``path`` names a project file (or, under a third-party package, that package's)."""
    if "<" in path:
        pattern = re.compile("(^|/)" + re.sub(r"<[^>]+>", "[^/]+", re.escape(path)) + "$")
        return any(pattern.search(f) for f in files)
    if "/" not in path:
        return any(f.rpartition("/")[2] == path for f in files)
    if any(f == path or f == f"natsim/{path}" or f.endswith(f"/{path}") for f in files):
        return True
    top = path.split("/")[0]
    spec = importlib.util.find_spec(top) if top not in FOLDERS else None
    return spec is not None and spec.origin is not None and (Path(spec.origin).parent.parent / path).is_file()


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_module_path_named_in_the_docs_exists(doc: Path) -> None:
    files = project_files()
    assert [p for p in named_paths(doc.read_text()) if not exists(p, files)] == []


def test_the_check_catches_paths_that_do_not_exist() -> None:
    files = project_files()
    text = ("`run/lab.py`, `lab/registry.py`, `sim/tcp.py`, `sim/conntrack.py`, `tcp_send.py`, "
            "`ssh_cli.py`; fine: `sim/world.py`, `ssh/model.py`, `probes/<family>/options.py`, "
            "`world.py`, `mininet/node.py`, `FILE.py`, `/tmp/x/office.py`")
    assert [p for p in named_paths(text) if not exists(p, files)] == [
        "lab/registry.py", "run/lab.py", "sim/conntrack.py", "sim/tcp.py", "ssh_cli.py", "tcp_send.py"]
