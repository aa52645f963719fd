"""Mininet node classes for natsim labs.

:class:`LabNode` is a Mininet ``Node`` whose shell is tagged with the lab id (``natsim:ID:NODE``
in ``ps``) and reported to the lab as soon as it exists, so even a half-built lab is cleaned up.
Its shell is started in two steps, so a lab's shells start side by side: the constructor spawns it
(Mininet's ``Node.__init__`` calls :meth:`LabNode.startShell`) with its set-up line already typed
ahead, and :meth:`LabNode.wait_started` waits for it. Addresses, routes and forwarding are not set
here but in one batch per node (:mod:`natsim.lab.bringup`).
"""

from __future__ import annotations

import os
import pty
import select
import termios
import time
from collections.abc import Callable, Mapping
from typing import Any

from natsim.errors import LabError
from natsim.lab.mininet_compat import Node

PROMPT = chr(127)   # Mininet's prompt: the end of every command's output
START_TIMEOUT = 30.0   # seconds a node's shell may take to come up


class LabNode(Node):  # type: ignore[misc]
    """A host, router or middlebox node in its own network namespace."""

    def __init__(self, name: str, lab_id: str = "", on_shell: Callable[[LabNode], None] | None = None,
                 env: Mapping[str, str] | None = None, setup: str = "", **params: Any) -> None:
        """``env``: added to the shell's environment; ``setup``: a command line the shell runs first,
        before anything else (the lab's home, :mod:`natsim.lab.home`)."""
        self.lab_id = lab_id
        self.on_shell = on_shell
        self.env = dict(env or {})
        self.setup = setup
        super().__init__(name, inNamespace=True, **params)

    def startShell(self, mnopts: str | None = None) -> None:
        """Spawn the node's shell like Mininet does, tagged with the lab id, and return at once.

        Unlike Mininet's, the pty never echoes (set here, not with ``stty`` in the shell), history is
        off through the environment, and the shell's first line (``setup``, ``unset HISTFILE; set +m``) is
        typed ahead: :meth:`wait_started` waits for its prompt."""
        if getattr(self, "shell", None):
            return
        self.master, self.slave = pty.openpty()
        attrs = termios.tcgetattr(self.slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(self.slave, termios.TCSANOW, attrs)
        cmd = ["mnexec", "-cdn", "bash", "--norc", "--noediting", "-is", f"natsim:{self.lab_id}:{self.name}"]
        env = {**os.environ, "PS1": PROMPT, "HISTFILE": "", **self.env}
        self.shell = self._popen(cmd, stdin=self.slave, stdout=self.slave, stderr=self.slave,
                                 close_fds=False, env=env)
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
        self.write("; ".join(c for c in (self.setup, "unset HISTFILE", "set +m") if c) + "\n")
        self.waiting = True    # until wait_started: Mininet's cmd() refuses to run before

    def wait_started(self) -> str:
        """Wait for the shell's first prompt and the end of its typed-ahead set-up line (whose output
        is returned); then report the shell to the lab."""
        data, prompts = "", 0
        give_up = time.monotonic() + START_TIMEOUT
        while prompts < 2:
            if not self.pollOut.poll(100):
                if self.shell.poll() is not None or time.monotonic() > give_up:
                    raise LabError(f"node {self.name}: its shell did not start: {data.strip()!r}")
                continue
            chunk = self.read(1024)
            prompts += chunk.count(PROMPT)
            data += chunk
        self.waiting = False
        if self.on_shell is not None:  # only now is the shell inside its new namespace
            self.on_shell(self)
        return data.replace(PROMPT, "")

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
