"""What a probe's lab driver may use: the running lab, the scenario, the output directory, and the
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
    """The running lab, the scenario, the output directory, started servers."""

    lab: RunningLab
    scenario: Any
    out: Path
    servers: dict[tuple[str, str], Any] = field(default_factory=dict)
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def server(self, node: str, service: str, start: Callable[[], Any]) -> Any:
        """Start ``service`` on ``node`` once; later calls return the same handle."""
        key = (node, service)
        if key not in self.servers:
            self.servers[key] = start()
        return self.servers[key]
