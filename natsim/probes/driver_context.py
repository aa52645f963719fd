"""What a probe's lab driver may use: the running lab, the scenario, a private work directory, and the
servers already started for other probes (each started once)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from natsim.labview import RunningLab


@dataclass
class DriverContext:
    """The running lab (:class:`natsim.labview.RunningLab`), the scenario, where files go, started
    servers.

    ``workdir`` is a private directory natsim made for this run (``mkdtemp``, mode 0700): the only
    place a driver and the processes it starts write files. When the run ends, natsim copies the
    ones named ``*.log`` and ``*.out`` from there to the same place in the output directory ``out``
    (:mod:`natsim.outfiles`), which drivers only name, never write.
    """

    lab: RunningLab
    scenario: Any
    out: Path
    workdir: Path
    servers: dict[tuple[str, str], Any] = field(default_factory=dict)
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def server(self, node: str, service: str, start: Callable[[], Any]) -> Any:
        """Start ``service`` on ``node`` once; later calls return the same handle."""
        key = (node, service)
        if key not in self.servers:
            self.servers[key] = start()
        return self.servers[key]
