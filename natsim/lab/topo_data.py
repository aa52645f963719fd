"""Topology files without Mininet: a stand-in for ``mininet.topo`` (pure data, no kernel).

Topology files are Mininet ``Topo`` modules (``mn --custom`` loads them). The model and the scenario
loader only need their data: nodes with their parameters and links. When Mininet is not installed
(``pip install natsim`` without the ``lab`` extra) :func:`ensure_topo_module` provides
``mininet.topo.Topo`` with the same recording API (``addHost``, ``addSwitch``, ``addLink``, ``hosts``,
``switches``, ``links``, ``nodeInfo``, ``linkInfo``), so ``natsim predict`` works. Anything else of
Mininet stays missing, and a command that needs it says to install ``natsim[lab]``.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class Topo:
    """Records nodes and links as Mininet's ``Topo`` does (``build()`` is called by the constructor)."""

    def __init__(self, *args: Any, **params: Any) -> None:
        self._nodes: dict[str, dict[str, Any]] = {}
        self._switches: list[str] = []
        self._links: list[tuple[str, str, dict[str, Any]]] = []
        self.build(*args, **params)

    def build(self, *args: Any, **params: Any) -> None:
        """Override to add nodes and links."""

    def addHost(self, name: str, **opts: Any) -> str:
        """Add a host with its parameters."""
        self._nodes[name] = dict(opts)
        return name

    def addSwitch(self, name: str, **opts: Any) -> str:
        """Add a switch (natsim refuses topologies with switches, but records them)."""
        self._nodes[name] = {**opts, "isSwitch": True}
        self._switches.append(name)
        return name

    def addLink(self, node1: str, node2: str, port1: int | None = None, port2: int | None = None,
                key: Any = None, **opts: Any) -> str:
        """Add a link with its parameters."""
        self._links.append((node1, node2, {"node1": node1, "node2": node2, **opts}))
        return f"{node1}-{node2}"

    def hosts(self, sort: bool = True) -> list[str]:
        """Host names."""
        names = [n for n in self._nodes if n not in self._switches]
        return sorted(names) if sort else names

    def switches(self, sort: bool = True) -> list[str]:
        """Switch names."""
        return sorted(self._switches) if sort else list(self._switches)

    def links(self, sort: bool = False, withKeys: bool = False,
              withInfo: bool = False) -> list[Any]:
        """Links as (node1, node2) pairs, or with their info."""
        if withInfo:
            return [(a, b, info) for a, b, info in self._links]
        return [(a, b) for a, b, _ in self._links]

    def nodeInfo(self, name: str) -> dict[str, Any]:
        """The parameters ``name`` was added with."""
        return self._nodes[name]

    def linkInfo(self, src: str, dst: str) -> dict[str, Any]:
        """The parameters of the first link between ``src`` and ``dst``."""
        return next(info for a, b, info in self._links if {a, b} == {src, dst})


def ensure_topo_module() -> None:
    """Make ``from mininet.topo import Topo`` work: Mininet's own when installed, else this one."""
    try:
        import mininet.topo  # noqa: F401
    except ModuleNotFoundError:
        package = types.ModuleType("mininet")
        package.__doc__ = "natsim's stand-in: only mininet.topo (install natsim[lab] for Mininet)"
        topo = types.ModuleType("mininet.topo")
        topo.Topo = Topo  # type: ignore[attr-defined]
        package.topo = topo  # type: ignore[attr-defined]
        sys.modules.setdefault("mininet", package)
        sys.modules.setdefault("mininet.topo", topo)
