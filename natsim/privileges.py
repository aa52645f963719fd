"""Whether this process may build labs (root: network namespaces, nftables)."""

from __future__ import annotations

import os

from natsim.errors import PrivilegeError


def require_root(what: str = "natsim") -> None:
    """Raise :class:`PrivilegeError` unless running as root."""
    if os.geteuid() != 0:
        raise PrivilegeError(f"{what} needs root (network namespaces, nftables): run it with sudo")
