"""The one door through which natsim imports Mininet's nodes, links, network and CLI.

Mininet (PyPI 2.3.0.dev6 and Debian's 2.3.0 alike) does ``from distutils.version import
StrictVersion`` at the top of ``mininet/node.py`` (which ``mininet.net`` and ``mininet.cli`` import),
and Python 3.12 removed ``distutils`` (PEP 632). Mininet uses ``StrictVersion`` only to compare Open
vSwitch versions (``OVSSwitch.isOldOVS``), which natsim never uses. So, only when ``distutils.version``
cannot be imported, this module registers a minimal stand-in under that name before importing Mininet.
natsim code imports Mininet's ``node``, ``net``, ``link``, ``util`` and ``cli`` from here, never
directly; ``mininet.topo`` (what topology files import) needs no ``distutils`` and is imported as is.
"""

from __future__ import annotations

import re
import sys
import types
from functools import total_ordering

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:([ab])(\d+))?$", re.ASCII)


@total_ordering
class StrictVersion:
    """``distutils.version.StrictVersion``'s parsing and ordering: ``1.10`` > ``1.9``, ``2.0`` ==
    ``2.0.0``, ``2.0b1`` < ``2.0``. Compares with another instance or a version string."""

    def __init__(self, vstring: str) -> None:
        match = _VERSION.match(vstring)
        if match is None:
            raise ValueError(f"invalid version number {vstring!r}")
        major, minor, patch, letter, number = match.groups()
        self.version = (int(major), int(minor), int(patch or 0))
        self.prerelease = (letter, int(number)) if letter else None
        self._vstring = vstring

    def _key(self) -> tuple[int, int, int, int, str, int]:
        letter, number = self.prerelease or ("", 0)
        return (*self.version, 0 if self.prerelease else 1, letter, number)

    @staticmethod
    def _coerce(other: object) -> StrictVersion | None:
        if isinstance(other, str):
            return StrictVersion(other)
        return other if isinstance(other, StrictVersion) else None

    def __eq__(self, other: object) -> bool:
        theirs = self._coerce(other)
        return NotImplemented if theirs is None else self._key() == theirs._key()

    def __lt__(self, other: object) -> bool:
        theirs = self._coerce(other)
        return NotImplemented if theirs is None else self._key() < theirs._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return self._vstring

    def __repr__(self) -> str:
        return f"StrictVersion({self._vstring!r})"


def _provide_distutils_version() -> bool:
    """Register the stand-in as ``distutils.version`` when there is none; True when it did."""
    try:
        import distutils.version  # noqa: F401
    except ImportError:
        module = types.ModuleType("distutils.version", "natsim's stand-in: StrictVersion only (for Mininet).")
        module.StrictVersion = StrictVersion  # type: ignore[attr-defined]
        sys.modules["distutils.version"] = module
        return True
    return False


#: True when ``distutils.version`` is natsim's stand-in (Python 3.12+), False when it is the real one.
SHIMMED = _provide_distutils_version()

from mininet.cli import CLI  # noqa: E402
from mininet.link import Intf, Link  # noqa: E402
from mininet.net import Mininet  # noqa: E402
from mininet.node import Node  # noqa: E402
from mininet.util import netParse  # noqa: E402

__all__ = ["CLI", "SHIMMED", "Intf", "Link", "Mininet", "Node", "StrictVersion", "netParse"]
