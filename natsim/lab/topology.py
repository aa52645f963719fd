"""Finding and loading topologies (Mininet ``Topo`` subclasses, natsim's own in ``topologies/``), no root.

A topology file defines ``topos = {"name": TopoClass}`` exactly as ``mn --custom`` expects. natsim
reads per-node parameters: ``natsim_role`` (``host``, ``router`` or a middlebox kind),
``natsim_inside`` / ``natsim_outside`` (interface names), ``natsim_routes`` and ``natsim_addresses``
(more addresses of the node, ``ip addr add`` arguments).

A topology file is Python. Finding a topology (:func:`find_topology`, :func:`available_topologies`)
never runs a file: names are read from the ``topos`` dict literal with :mod:`ast`. Loading one
(:func:`load_topology`) runs its file only when it is shipped with natsim or trusted (``--trust``);
otherwise it raises :class:`~natsim.errors.UntrustedCodeError` naming the file.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from natsim.errors import ConfigError
from natsim.fields import closest
from natsim.lab.topo_data import ensure_topo_module
from natsim.middleboxes import presets
from natsim.shipped import TOPOLOGIES
from natsim.trust import refusal

ROLES_PLAIN = ("host", "router")
#: natsim's own topologies (top-level ``topologies/``; inside the package in a wheel): loaded without
#: ``--trust``.
SHIPPED_DIR = TOPOLOGIES


def topology_dirs() -> list[Path]:
    """Where topologies are looked up: ``$NATSIM_TOPOLOGIES`` (colon-separated), then the shipped ones."""
    dirs = [Path(p) for p in os.environ.get("NATSIM_TOPOLOGIES", "").split(":") if p]
    dirs.append(SHIPPED_DIR)
    return dirs


def static_names(path: Path) -> tuple[str, ...] | None:
    """The keys of the module-level ``topos = {"name": Class, ...}`` literal, read without running
    the file; None when it has none (or the last ``topos =`` is not such a literal, or the file cannot
    be read or parsed). Each version of a file (inode, size, mtime) is parsed once."""
    try:
        st = path.stat()
    except OSError:
        return None
    return _parsed_names(path, st.st_ino, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _parsed_names(path: Path, inode: int, size: int, mtime: int) -> tuple[str, ...] | None:
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError, RecursionError):
        return None
    names: tuple[str, ...] | None = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "topos"
                                                for t in node.targets):
            value: ast.expr | None = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and node.target.id == "topos":
            value = node.value
        else:
            continue
        keys = value.keys if isinstance(value, ast.Dict) else [None]
        strings = [k.value for k in keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
        names = tuple(strings) if len(strings) == len(keys) else None
    return names


@dataclass(frozen=True)
class TopologyRef:
    """A topology found but not loaded: its name and its file (picklable).

    ``name`` is None for a ``FILE.py`` whose names cannot be read without running it. ``trusted``:
    the user allowed this file to run (shipped files always may).
    """

    name: str | None
    path: Path
    trusted: bool = False

    @property
    def shipped(self) -> bool:
        """The file is one of natsim's own topologies."""
        return self.path.resolve().parent == SHIPPED_DIR

    @property
    def may_run(self) -> bool:
        """Loading it may execute its file."""
        return self.shipped or self.trusted

    def describe(self) -> str:
        """What loading it runs (a refusal line)."""
        what = f"topology '{self.name}'" if self.name is not None else "the topology"
        return f"{what} from {self.path}: a Python file natsim executes to load it"

    def __str__(self) -> str:
        return self.name if self.name is not None else str(self.path)


def _scan() -> tuple[dict[str, Path], list[Path]]:
    """Name → file over every topology directory (first wins), and the files without readable names."""
    found: dict[str, Path] = {}
    unreadable = []
    for directory in topology_dirs():
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.py")):
            if path.name.startswith("_"):
                continue
            names = static_names(path)
            if names is None:
                unreadable.append(path)
            for name in names or ():
                found.setdefault(name, path.resolve())
    return found, unreadable


def available_topologies() -> dict[str, Path]:
    """Topology name → file, over every topology directory (first wins). Runs no file."""
    return _scan()[0]


def _is_file_spec(spec: str) -> bool:
    return spec.endswith(".py") or ".py:" in spec


def find_topology(spec: str, *, trust: bool = False, base: Path | None = None) -> TopologyRef:
    """The topology a name or ``FILE.py[:NAME]`` means, without running any file.

    A relative ``FILE.py`` is relative to ``base`` (default: the current directory); ``trust``
    marks the reference as allowed to run.
    """
    if _is_file_spec(spec):
        file, sep, name = spec.rpartition(".py:")
        file, name = (file + ".py", name) if sep else (spec, "")
        path = ((base or Path.cwd()) / Path(file).expanduser()).resolve()
        if not path.is_file():
            raise ConfigError(f"cannot read topology file {path}: no such file")
        if name:
            return TopologyRef(name, path, trust)
        names = static_names(path)
        if names is not None and len(names) > 1:
            raise ConfigError(f"{path} defines several topologies ({', '.join(names)}); use FILE.py:NAME")
        return TopologyRef(names[0] if names else None, path, trust)
    known, unreadable = _scan()
    if spec not in known:
        skipped = f"; files with no literal `topos = {{...}}` (not read): {', '.join(map(str, unreadable))}" \
            if unreadable else ""
        raise ConfigError(f"unknown topology '{spec}'{closest(spec, sorted(known))}; "
                          f"available: {', '.join(sorted(known))}{skipped}")
    return TopologyRef(spec, known[spec], trust)


def _load_file(path: Path) -> dict[str, Any]:
    """The ``topos`` dict of a topology file, executed once per file version (path + mtime)."""
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as err:
        raise ConfigError(f"cannot read topology file {path}: {err.strerror}") from err
    return _exec_file(path.resolve(), mtime)


@functools.lru_cache(maxsize=64)
def _exec_file(path: Path, mtime: int) -> dict[str, Any]:
    ensure_topo_module()   # topology files import mininet.topo; the model runs without Mininet
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


def open_topology(spec: str | TopologyRef, *, trust: bool = False) -> tuple[TopologyRef, Any]:
    """``(reference with its name, Topo instance)``; runs the file only when shipped or trusted.

    Raises :class:`~natsim.errors.UntrustedCodeError` (naming the file) for an untrusted file.
    """
    ref = spec if isinstance(spec, TopologyRef) else find_topology(spec, trust=trust)
    if not (trust or ref.may_run):
        raise refusal("this topology", [ref.describe()])
    topos = _load_file(ref.path)
    name = ref.name
    if name is None:
        if len(topos) != 1:
            raise ConfigError(f"{ref.path} defines several topologies ({', '.join(topos)}); use FILE.py:NAME")
        name = next(iter(topos))
    if name not in topos:
        raise ConfigError(f"unknown topology '{name}' in {ref.path}{closest(name, sorted(topos))}")
    return replace(ref, name=name, trusted=ref.trusted or trust), topos[name]()


def load_topology(spec: str | TopologyRef, *, trust: bool = False) -> tuple[str, Any]:
    """``(name, Topo instance)`` for a topology name, ``FILE.py[:NAME]`` or a :class:`TopologyRef`."""
    ref, topo = open_topology(spec, trust=trust)
    assert ref.name is not None
    return ref.name, topo


@dataclass(frozen=True)
class NodeSpec:
    """One node of a topology as natsim sees it.

    ``role`` is the topology's ``natsim_role``: ``host``, ``router``, a middlebox kind, or a device preset
    (the node is then of the preset's ``kind`` and built from ``preset`` unless its settings name
    another).
    """

    name: str
    role: str
    inside: tuple[str, ...]
    outside: tuple[str, ...]
    params: dict[str, Any]
    kind: str = ""
    preset: str | None = None


def role_kind(role: str) -> tuple[str, str | None]:
    """(kind, preset) of a node's role: a plain role or a kind is itself; a device preset's name is the
    preset's kind with that preset (:func:`natsim.middleboxes.presets.resolve`)."""
    return (role, None) if role in ROLES_PLAIN else presets.resolve(role)


def node_specs(topo: Any) -> dict[str, NodeSpec]:
    """The nodes of a Topo with their natsim roles (and the kinds they stand for)."""
    specs = {}
    for name in topo.hosts():
        info = dict(topo.nodeInfo(name))
        role = info.get("natsim_role", "host")
        kind, preset = role_kind(role)
        specs[name] = NodeSpec(name=name, role=role, inside=tuple(info.get("natsim_inside", ())),
                               outside=tuple(info.get("natsim_outside", ())), params=info, kind=kind,
                               preset=preset)
    if topo.switches():
        raise ConfigError("natsim topologies must not contain switches (no bridges in the root namespace)")
    return specs


def node_addresses(topo: Any) -> dict[str, str]:
    """Each node's IPv4 address as the topology gives it: that of its first interface with one (the
    lowest interface name; the model addresses hosts by it, as ``Lab.address`` does)."""
    found: dict[str, tuple[str, str]] = {}
    for a, b, info in topo.links(withInfo=True):
        for end, node in (("1", info.get("node1", a)), ("2", info.get("node2", b))):
            ip = (info.get(f"params{end}") or {}).get("ip")
            name = str(info.get(f"intfName{end}") or "")
            if ip and (node not in found or name < found[node][0]):
                found[node] = (name, str(ip).split("/")[0])
    return {node: address for node, (_, address) in found.items()}

