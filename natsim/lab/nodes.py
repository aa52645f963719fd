"""Mininet node classes for natsim labs.

:class:`LabNode` is a Mininet ``Node`` whose shell is tagged with the lab id (``natsim:ID:NODE``
in ``ps``) and reported to the lab as soon as it exists, so even a half-built lab is cleaned up.
Routers get forwarding and static routes in :meth:`LabNode.config` (inside their own namespace).
"""

from __future__ import annotations

import os
import pty
import select
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from natsim.addresses import check_lab_address
from natsim.lab.mininet_compat import Node


class LabNode(Node):  # type: ignore[misc]
    """A host, router or middlebox node in its own network namespace."""

    def __init__(self, name: str, lab_id: str = "", on_shell: Callable[[LabNode], None] | None = None,
                 env: Mapping[str, str] | None = None, prefix: Sequence[str] = (), **params: Any) -> None:
        """``env``: added to the shell's environment; ``prefix``: what the shell is started through
        inside the node's namespaces (both: the lab's home, :mod:`natsim.lab.home`)."""
        self.lab_id = lab_id
        self.on_shell = on_shell
        self.env = dict(env or {})
        self.prefix = list(prefix)
        super().__init__(name, inNamespace=True, **params)

    def startShell(self, mnopts: str | None = None) -> None:
        """Start the node's shell like Mininet does, tagged with the lab id."""
        if getattr(self, "shell", None):
            return
        cmd = ["mnexec", "-cdn", *self.prefix, "env", "PS1=" + chr(127),
               *(f"{k}={v}" for k, v in self.env.items()),
               "bash", "--norc", "--noediting", "-is", f"natsim:{self.lab_id}:{self.name}"]
        self.master, self.slave = pty.openpty()
        self.shell = self._popen(cmd, stdin=self.slave, stdout=self.slave, stderr=self.slave,
                                 close_fds=False)
        self.stdin = os.fdopen(self.master, "r")
        self.stdout = self.stdin
        self.pid = self.shell.pid
        self.pollOut = select.poll()
        self.pollOut.register(self.stdout)
        self.outToNode[self.stdout.fileno()] = self
        self.inToNode[self.stdin.fileno()] = self
        self.execed = False
        self.lastCmd = None
        self.lastPid = None
        self.readbuf = ""
        while True:
            data = self.read(1024)
            if data and data[-1] == chr(127):
                break
            self.pollOut.poll()
        self.waiting = False
        if self.on_shell is not None:  # only now is the shell inside its new namespace
            self.on_shell(self)
        self.cmd("unset HISTFILE; stty -echo; set +m")

    def config(self, **params: Any) -> dict[str, Any]:
        """Addresses and default route (Mininet), more addresses (``natsim_addresses``, each in the lab
        ranges), then forwarding and routes for routers."""
        result: dict[str, Any] = super().config(**params)
        if params.get("natsim_role", "host") != "host":
            self.cmd("sysctl -q -w net.ipv4.ip_forward=1")
        for address in params.get("natsim_addresses", ()):
            check_lab_address(str(address).split()[0], what=f"node {self.name}: natsim_addresses")
            self.cmd(f"ip addr add {address}")
        for route in params.get("natsim_routes", ()):
            self.cmd(f"ip route add {route}")
        return result

    def close_fds(self) -> None:
        """Close the pty of the shell (after it was killed)."""
        for fd in (self.slave,):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self.stdin.close()
        except OSError:
            pass
