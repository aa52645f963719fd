"""Command runners: the only way natsim runs programs inside a lab node.

:class:`NamespaceRunner` executes argv inside a node's network namespace (``mnexec -a PID``);
``Lab.runner(node)`` gives a node's. :meth:`NamespaceRunner.start` returns at once, so commands in
several nodes run side by side (a lab's bring-up); :meth:`NamespaceRunner.run` waits.
"""

from __future__ import annotations

import contextlib
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


class Started:
    """A command running in a node (from :meth:`NamespaceRunner.start`): :meth:`finish` waits for it,
    :meth:`close` (always, also after ``finish``) stops it if it still runs and frees its files."""

    def __init__(self, node: str, argv: Sequence[str], proc: subprocess.Popen[bytes],
                 out: IO[bytes], err: IO[bytes], files: contextlib.ExitStack) -> None:
        self.node, self.argv, self.proc = node, list(argv), proc
        self._out, self._err, self._files = out, err, files

    def finish(self, *, check: bool = True, timeout: float | None = 30.0) -> Completed:
        """Wait until it exits (not for its output to close: a process it started in the background
        may keep running, writing nowhere we wait on). Past ``timeout`` it is killed and
        :class:`CommandTimeout` carries what it printed; with ``check`` a non-zero exit raises
        :class:`CommandError`."""
        try:
            if not exited(self.proc, timeout):
                self.proc.kill()
                self.proc.wait()
                printed = _read(self._out) + _read(self._err)
                raise CommandTimeout(self.node, self.argv, timeout or 0.0, printed)
            done = Completed(self.proc.returncode, _read(self._out), _read(self._err))
        finally:
            self.close()
        if check and done.returncode != 0:
            raise CommandError(self.node, self.argv, done.returncode, done.stderr or done.stdout)
        return done

    def close(self) -> None:
        """Kill it if it still runs (reaped), and close its output files (idempotent)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._files.close()


class NamespaceRunner:
    """Runs argv inside the network namespace of process ``pid`` via ``mnexec -a``."""

    def __init__(self, node: str, pid: int, env: Mapping[str, str] | None = None) -> None:
        """``env``: added to the environment of every command (the lab's ``HOME``)."""
        self.node = node
        self.pid = pid
        self.env = {**os.environ, **env} if env else None

    def tmpdir(self) -> str | None:
        """Where this runner's output files go: the lab's ``TMPDIR`` (removed with the lab), else None
        (``$TMPDIR``). Named, so that no process of natsim's probes ``$TMPDIR`` for its first temporary
        file: Python's probe writes a file with a random name there and removes it, and a process
        killed in between (a rootless natsim's inner process, SIGKILLed with its PID namespace) left
        an empty one in the host's /tmp."""
        tmp = (self.env or {}).get("TMPDIR")
        return tmp if tmp and os.path.isdir(tmp) else None

    def prefix(self) -> list[str]:
        """The argv prefix that enters the namespace."""
        return ["mnexec", "-a", str(self.pid)]

    def start(self, argv: Sequence[str], *, input: str | None = None,
              pass_fds: Sequence[int] = ()) -> Started:
        """Start ``argv`` in the node's namespace and return at once (``input``: its stdin;
        ``pass_fds``: descriptors it inherits)."""
        LOG.debug("%s$ %s", self.node, shlex.join(argv))
        # files, not pipes: a pipe's end stays open in every background child, and waiting for it
        # to close would wait for them (`socat ... &` kept `natsim lab --run` waiting forever)
        tmp = self.tmpdir()
        with contextlib.ExitStack() as files:
            stdin, out, err = (files.enter_context(tempfile.TemporaryFile(dir=tmp)) for _ in range(3))
            stdin.write((input or "").encode())
            stdin.seek(0)
            try:
                proc = subprocess.Popen([*self.prefix(), *argv], stdin=stdin if input is not None
                                        else subprocess.DEVNULL, stdout=out, stderr=err, env=self.env,
                                        pass_fds=pass_fds)
            except FileNotFoundError as exc:
                raise LabError("mnexec not found: run `sudo make setup` (Debian package mininet)") from exc
            return Started(self.node, argv, proc, out, err, files.pop_all())

    def run(self, argv: Sequence[str], *, input: str | None = None, check: bool = True,
            timeout: float | None = 30.0, pass_fds: Sequence[int] = ()) -> Completed:
        """Run ``argv`` in the node's namespace and wait for it to exit (:meth:`Started.finish`)."""
        return self.start(argv, input=input, pass_fds=pass_fds).finish(check=check, timeout=timeout)


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
