"""What a probe's lab driver may use: the running lab, the scenario, a private work directory, and the
servers already started for other probes (each started once)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from natsim.labview import RunningLab
from natsim.middleboxes.registry import kind


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

    def serving(self, node: str) -> tuple[str, ...]:
        """The nodes that serve connections addressed to ``node``: ``node`` itself, or the backends of a
        middlebox that fronts them (a load balancer's virtual IP; its kind declares ``backends``)."""
        config = self.lab.middleboxes.get(node)
        backends = kind(config.kind).backends if config is not None else None
        if backends is None:
            return (node,)
        by_address = {address: name for name, address in self.scenario.addresses.items()}
        return tuple(by_address[address] for address in backends(config))

    def server(self, node: str, service: str, start: Callable[[], Any]) -> Any:
        """Start ``service`` on ``node`` once; later calls return the same handle."""
        key = (node, service)
        if key not in self.servers:
            self.servers[key] = start()
        return self.servers[key]
