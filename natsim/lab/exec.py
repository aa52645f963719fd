"""Command runners: the only way natsim runs programs inside a lab node.

:class:`NamespaceRunner` executes argv inside a node's network namespace (``mnexec -a PID``);
``Lab.runner(node)`` gives a node's.
"""

from __future__ import annotations

import logging
import os
import select
import shlex
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from natsim.errors import CommandError, CommandTimeout, LabError


@dataclass(frozen=True)
class Completed:
    """Outcome of a command: exit code and combined text output."""

    returncode: int
    stdout: str
    stderr: str


LOG = logging.getLogger("natsim.lab")


def _read(file: IO[bytes]) -> str:
    file.seek(0)
    return file.read().decode(errors="replace")


class NamespaceRunner:
    """Runs argv inside the network namespace of process ``pid`` via ``mnexec -a``."""

    def __init__(self, node: str, pid: int, env: Mapping[str, str] | None = None) -> None:
        """``env``: added to the environment of every command (the lab's ``HOME``)."""
        self.node = node
        self.pid = pid
        self.env = {**os.environ, **env} if env else None

    def prefix(self) -> list[str]:
        """The argv prefix that enters the namespace."""
        return ["mnexec", "-a", str(self.pid)]

    def run(self, argv: Sequence[str], *, input: str | None = None, check: bool = True,
            timeout: float | None = 30.0) -> Completed:
        """Run ``argv`` in the node's namespace and wait for it to exit (not for its output to close:
        a process it started in the background may keep running, writing nowhere we wait on).
        Past ``timeout`` it is killed and :class:`CommandTimeout` carries what it printed."""
        LOG.debug("%s$ %s", self.node, shlex.join(argv))
        # files, not pipes: a pipe's end stays open in every background child, and waiting for it
        # to close would wait for them (`socat ... &` kept `natsim lab --run` waiting forever)
        with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as out, \
                tempfile.TemporaryFile() as err:
            stdin.write((input or "").encode())
            stdin.seek(0)
            try:
                proc = subprocess.Popen([*self.prefix(), *argv], stdin=stdin if input is not None
                                        else subprocess.DEVNULL, stdout=out, stderr=err, env=self.env)
            except FileNotFoundError as exc:
                raise LabError("mnexec not found: run `sudo make setup` (Debian package mininet)") from exc
            if not exited(proc, timeout):
                proc.kill()
                proc.wait()
                raise CommandTimeout(self.node, list(argv), timeout or 0.0, _read(out) + _read(err))
            done = Completed(proc.returncode, _read(out), _read(err))
        if check and done.returncode != 0:
            raise CommandError(self.node, list(argv), done.returncode, done.stderr or done.stdout)
        return done


def exited(proc: subprocess.Popen[bytes], timeout: float | None) -> bool:
    """Wait until ``proc`` exits (reaped; True) or ``timeout`` seconds pass (False). The kernel wakes
    us when it exits (a pidfd): subprocess's own wait with a timeout polls in sleeps growing to
    50 ms, which made each lab command up to tens of milliseconds late."""
    fd = os.pidfd_open(proc.pid)
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
    finally:
        os.close(fd)
    if ready:
        proc.wait()
    return bool(ready)
