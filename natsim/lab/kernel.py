"""br_netfilter, which the ``cpe-bridge`` needs, and what it does to the host. Read-only: natsim never
loads a kernel module and never writes a root-namespace sysctl.

The ``cpe-bridge`` sets ``net.bridge.bridge-nf-call-iptables=1`` inside its own namespace so bridged
IPv4 crosses the inet hooks and conntrack. That sysctl exists only while br_netfilter is loaded (or
built in), and br_netfilter acts on every namespace: in the root namespace the sysctl defaults to 1,
so bridged IPv4 on the host's own bridges (docker0, virbr0, lxcbr0) passes the host's iptables/nftables
firewall too. Whether to load it is the user's decision; :func:`require_sysctls` turns its absence into
one clear error before a lab applies a render.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from natsim.errors import LabError

SYSCTL = "net.bridge.bridge-nf-call-iptables"
HOST_EFFECT = ("bridged IPv4 on the host's own bridges (docker0, virbr0, lxcbr0) passes the host's "
               "iptables/nftables firewall")
DECISION = (f"`modprobe br_netfilter` is your decision: {SYSCTL} defaults to 1 in the root namespace, so "
            f"{HOST_EFFECT}; natsim never loads modules")


class BrNetfilter(enum.StrEnum):
    """How this kernel provides br_netfilter."""

    BUILTIN = "built in"
    MODULE = "loaded as a module"
    LOADABLE = "not loaded, available as a module"
    ABSENT = "absent"


@dataclass(frozen=True)
class BrNetfilterState:
    """br_netfilter's state and the root namespace's current ``bridge-nf-call-iptables`` (or None)."""

    state: BrNetfilter
    root_value: str | None

    @property
    def active(self) -> bool:
        """Whether the sysctl exists, i.e. the cpe-bridge can work."""
        return self.state in (BrNetfilter.BUILTIN, BrNetfilter.MODULE)

    def describe(self) -> str:
        """One sentence for ``natsim doctor``: the state and what it means for the host."""
        if not self.active:
            return f"{self.state}: cpe-bridge labs cannot start; host bridges are not filtered by it"
        effect = (f"so {HOST_EFFECT}" if self.root_value == "1" else
                  "so host bridges bypass the host firewall until something sets it to 1")
        undo = ("with or without natsim" if self.state is BrNetfilter.BUILTIN else
                "`modprobe -r br_netfilter` undoes it while no cpe-bridge lab runs")
        return f"{self.state}; root namespace {SYSCTL} = {self.root_value}, {effect} ({undo})"


def _proc_sys(key: str, root: Path) -> Path:
    return root / "proc/sys" / key.replace(".", "/")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _module_files(root: Path) -> bool:
    """Whether ``/lib/modules/RELEASE`` ships br_netfilter as a loadable module."""
    dep = _read(root / "lib/modules" / os.uname().release / "modules.dep")
    return dep is not None and "/br_netfilter.ko" in dep


def br_netfilter_state(root: Path = Path("/")) -> BrNetfilterState:
    """Read (never write) how br_netfilter is provided; ``root`` lets tests use a fake tree.

    Built in: the sysctl exists, but no ``/proc/modules`` line and no ``/sys/module/br_netfilter/refcnt``
    (a built-in without parameters has no ``/sys/module`` entry at all). Loaded as a module: either.
    """
    value = _read(_proc_sys(SYSCTL, root))
    modules = _read(root / "proc/modules") or ""
    loaded = any(line.split(" ", 1)[0] == "br_netfilter" for line in modules.splitlines())
    if loaded or (root / "sys/module/br_netfilter/refcnt").exists():
        return BrNetfilterState(BrNetfilter.MODULE, value)
    if value is not None:
        return BrNetfilterState(BrNetfilter.BUILTIN, value)
    if _module_files(root):
        return BrNetfilterState(BrNetfilter.LOADABLE, None)
    return BrNetfilterState(BrNetfilter.ABSENT, None)


def require_sysctls(node: str, sysctls: Mapping[str, str], root: Path = Path("/")) -> None:
    """Raise one clear :class:`LabError` when a render needs br_netfilter's sysctl and it is missing.

    Call before ``sysctl -w`` in a node. br_netfilter is global, so its sysctl's presence in this
    process's namespace tells whether every namespace has it (per namespace since Linux 5.3).
    """
    if not any(key.startswith("net.bridge.") for key in sysctls):
        return
    state = br_netfilter_state(root)
    if not state.active:
        raise LabError(f"{node}: cpe-bridge needs {SYSCTL}, which exists only with br_netfilter, and "
                       f"br_netfilter is {state.state}; {DECISION} (see natsim doctor, docs/lab.md)")
