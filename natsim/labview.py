"""What a kind may do with a running lab: the protocol :class:`natsim.lab.Lab` implements.

A probe's lab driver and a middlebox's runtime are handed the running lab. They type it as
:class:`RunningLab` (and the processes it starts as :class:`NodeProcess`), so the kinds depend on this
contract rather than on the lab layer above them, and a test can hand them a stand-in.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from natsim.units import TimeScale


class NodeProcess(Protocol):
    """A process started in a lab node; the lab stops it at teardown at the latest."""

    node: str
    popen: subprocess.Popen[Any]

    def stop(self, grace: float = 1.0) -> None:
        """Terminate it (and its process group)."""
        ...


class RunningLab(Protocol):
    """A lab that is up: its time scale, its run's seed, its middleboxes' configs, commands in its nodes."""

    time_scale: TimeScale
    seed: int

    @property
    def middleboxes(self) -> Mapping[str, Any]:
        """Middlebox node → its config."""
        ...

    def popen(self, name: str, argv: Sequence[str], **kwargs: Any) -> NodeProcess:
        """Start ``argv`` in node ``name`` (``subprocess.Popen`` keyword arguments)."""
        ...

    def run(self, name: str, argv: Sequence[str] | str, *, check: bool = False,
            timeout: float | None = 60.0) -> tuple[int, str]:
        """Run a command in node ``name``: (exit code, combined output)."""
        ...

    def wait_port(self, name: str, port: int, proc: NodeProcess, *, timeout: float = 10.0,
                  log: Path | None = None, transport: str = "tcp") -> None:
        """Return once something listens on ``port`` (``transport``: ``tcp`` or ``udp``) in node
        ``name``."""
        ...

    def address(self, name: str) -> str:
        """The first IPv4 address of node ``name``."""
        ...

    def substitute(self, command: str) -> str:
        """``command`` with node names after its first word replaced by their addresses."""
        ...
