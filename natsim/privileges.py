"""Whether this process may build labs: root, in the host's user namespace or in one of its own."""

from __future__ import annotations

import os
from pathlib import Path

from natsim.errors import PrivilegeError

_INITIAL_UID_MAP = ("0", "0", "4294967295")


def _uid_map() -> str | None:
    try:
        return Path("/proc/self/uid_map").read_text()
    except OSError:
        return None


def in_user_namespace(uid_map: str | None = None) -> bool:
    """True unless this process is in the host's (initial) user namespace (a kernel without user
    namespaces has no uid_map: it is the host's)."""
    text = _uid_map() if uid_map is None else uid_map
    return text is not None and tuple(text.split()) != _INITIAL_UID_MAP


def maps_uid(uid: int, uid_map: str | None = None) -> bool:
    """True when ``uid`` exists in this process's user namespace (``uid_map`` lists its ranges)."""
    text = _uid_map() if uid_map is None else uid_map
    if text is None:
        return True   # no user namespaces in this kernel: every id is the host's
    for line in text.splitlines():
        first, _, count = (int(word) for word in line.split())
        if first <= uid < first + count:
            return True
    return False


def require_lab_privileges(what: str = "natsim") -> None:
    """Raise :class:`PrivilegeError` unless this process can build labs here (euid 0: root, or root
    inside a user namespace such as the one the ``natsim`` command enters by itself)."""
    if os.geteuid() != 0:
        raise PrivilegeError(f"{what} builds a lab: it needs root, or a user namespace of its own, which "
                             "the natsim command enters by itself (`natsim doctor` says whether it can)")
