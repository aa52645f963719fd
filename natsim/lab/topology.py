"""Finding and loading topologies (Mininet ``Topo`` subclasses in ``topologies/``). No root needed.

A topology file defines ``topos = {"name": TopoClass}`` exactly as ``mn --custom`` expects. natsim
reads per-node parameters: ``natsim_role`` (``host``, ``router`` or a middlebox kind),
``natsim_inside`` / ``natsim_outside`` (interface names) and ``natsim_routes``.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from natsim.errors import ConfigError
from natsim.middleboxes.base import closest

ROLES_PLAIN = ("host", "router")


def topology_dirs() -> list[Path]:
    """Where topologies are looked up: ``$NATSIM_TOPOLOGIES`` (colon-separated), then the shipped ones."""
    dirs = [Path(p) for p in os.environ.get("NATSIM_TOPOLOGIES", "").split(":") if p]
    dirs.append(Path(__file__).resolve().parents[2] / "topologies")
    return dirs


def _load_file(path: Path) -> dict[str, Any]:
    """The ``topos`` dict of a topology file, executed once per file version (path + mtime)."""
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as err:
        raise ConfigError(f"cannot read topology file {path}: {err.strerror}") from err
    return _exec_file(path.resolve(), mtime)


@functools.lru_cache(maxsize=64)
def _exec_file(path: Path, mtime: int) -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location(f"natsim_topology_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot load topology file {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # a user's file: report, do not crash
        raise ConfigError(f"{path}: failed to load topology: {err}") from err
    topos = getattr(module, "topos", None)
    if not isinstance(topos, dict):
        raise ConfigError(f"{path}: defines no 'topos' dict (as `mn --custom` expects)")
    return topos


def available_topologies() -> dict[str, Path]:
    """Topology name → file, over every topology directory (first wins)."""
    found: dict[str, Path] = {}
    for directory in topology_dirs():
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.py")):
            if path.name.startswith("_"):
                continue
            for name in _load_file(path):
                found.setdefault(name, path)
    return found


@dataclass(frozen=True)
class NodeSpec:
    """One node of a topology as natsim sees it."""

    name: str
    role: str
    inside: tuple[str, ...]
    outside: tuple[str, ...]
    params: dict[str, Any]


def load_topology(name_or_path: str) -> tuple[str, Any]:
    """Return ``(name, Topo instance)`` for a topology name or ``FILE.py[:NAME]``."""
    if name_or_path.endswith(".py") or ".py:" in name_or_path:
        file, _, name = name_or_path.partition(":")
        topos = _load_file(Path(file))
        if not name:
            if len(topos) != 1:
                raise ConfigError(f"{file} defines several topologies ({', '.join(topos)}); use FILE:NAME")
            name = next(iter(topos))
    else:
        known = available_topologies()
        name = name_or_path
        if name not in known:
            raise ConfigError(f"unknown topology '{name}'{closest(name, sorted(known))}; "
                              f"available: {', '.join(sorted(known))}")
        topos = _load_file(known[name])
    if name not in topos:
        raise ConfigError(f"unknown topology '{name}'{closest(name, sorted(topos))}")
    return name, topos[name]()


def node_specs(topo: Any) -> dict[str, NodeSpec]:
    """The nodes of a Topo with their natsim roles."""
    specs = {}
    for name in topo.hosts():
        info = dict(topo.nodeInfo(name))
        specs[name] = NodeSpec(name=name, role=info.get("natsim_role", "host"),
                               inside=tuple(info.get("natsim_inside", ())),
                               outside=tuple(info.get("natsim_outside", ())), params=info)
    if topo.switches():
        raise ConfigError("natsim topologies must not contain switches (no bridges in the root namespace)")
    return specs
