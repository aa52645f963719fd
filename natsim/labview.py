"""What a kind may do with a running lab: the protocol :class:`natsim.lab.Lab` implements.

A probe's lab driver and a middlebox's runtime are handed the running lab. They type it as
:class:`RunningLab` (and the processes it starts as :class:`NodeProcess`), so the kinds depend on this
contract rather than on the lab layer above them, and a test can hand them a stand-in.
"""

from __future__ import annotations

import shlex
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

    def scratch(self, prefix: str) -> Path:
        """A new private directory for files of the lab's processes (a tool's output, a server's
        config and keys), seen in every node and removed with the lab, however natsim ends: never
        left in ``$TMPDIR``."""
        ...

    def substitute(self, command: str) -> str:
        """``command`` with node names after its first word replaced by their addresses."""
        ...


#: Where :func:`cover_run` builds the new ``/run`` before moving it into place.
_TRANSIT = "/tmp"


def cover_run(name: str, keep: Path) -> list[str]:
    """Shell steps, for a process's private mount namespace, that cover ``/run`` with a fresh tmpfs
    (source ``name``) while ``keep`` stays visible at its path.

    A lab's private directories (:meth:`RunningLab.scratch`) are on ``/run`` inside natsim's own
    namespaces, where ``/run`` is natsim's private tmpfs; covering ``/run`` would hide them. So the new
    tmpfs is mounted at a transit point first, ``keep`` is bind-mounted into it at its place under
    ``/run``, and the whole is moved onto ``/run`` (the transit point is uncovered again)."""
    fresh = f"mount -n -t tmpfs -o mode=755 {name}"
    if not keep.is_relative_to("/run"):
        return [f"{fresh} /run"]
    inner = shlex.quote(f"{_TRANSIT}/{keep.relative_to('/run')}")
    return [f"{fresh} {_TRANSIT}", f"mkdir -p {inner}", f"mount -n --bind {shlex.quote(str(keep))} {inner}",
            f"mount -n --move {_TRANSIT} /run"]

