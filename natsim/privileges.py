"""Whether this process may build labs: root, in the host's user namespace or in one of its own."""

from __future__ import annotations

import os

from natsim.errors import PrivilegeError


def require_lab_privileges(what: str = "natsim") -> None:
    """Raise :class:`PrivilegeError` unless this process can build labs here (euid 0: root, or root
    inside a user namespace such as the one the ``natsim`` command enters by itself)."""
    if os.geteuid() != 0:
        raise PrivilegeError(f"{what} builds a lab: it needs root, or a user namespace of its own, which "
                             "the natsim command enters by itself (`natsim doctor` says whether it can)")
