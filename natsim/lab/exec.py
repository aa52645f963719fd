"""Command runners: the only way natsim runs programs inside a lab node.

:class:`NamespaceRunner` executes argv inside a node's network namespace (``mnexec -a PID``);
``Lab.runner(node)`` gives a node's.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from natsim.errors import CommandError, LabError


@dataclass(frozen=True)
class Completed:
    """Outcome of a command: exit code and combined text output."""

    returncode: int
    stdout: str
    stderr: str


LOG = logging.getLogger("natsim.lab")


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
        """Run ``argv`` in the node's namespace and wait for it."""
        LOG.debug("%s$ %s", self.node, shlex.join(argv))
        try:
            proc = subprocess.run([*self.prefix(), *argv], input=input, capture_output=True, text=True,
                                  timeout=timeout, check=False, env=self.env)
        except subprocess.TimeoutExpired as err:
            raise LabError(f"{self.node}: `{' '.join(argv)}` did not finish within {timeout} s") from err
        except FileNotFoundError as err:
            raise LabError("mnexec not found: run `sudo make setup` (Debian package mininet)") from err
        done = Completed(proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            raise CommandError(self.node, list(argv), proc.returncode, proc.stderr or proc.stdout)
        return done
