"""The lab driver of the TCP probes: the probe server in the server node (once), the probe tool in the
client node (``python -m natsim.probes KIND``), its result read back."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from natsim.endpoint import DEFAULT, Endpoint
from natsim.paths import inside
from natsim.probes.driver_context import DriverContext
from natsim.probes.registry import Handle, PartialResults, options_of
from natsim.probes.tally import Tally
from natsim.probes.tcp.options import TcpKeepaliveOptions, TcpSendOptions, run_options
from natsim.report.schema import ProbeResult, RunResult


@dataclass
class TcpHandle(PartialResults):
    """A TCP probe running in a lab node."""

    running: Any   # natsim.probes.tcp.labrun.RunningProbe

    def wait(self, timeout: float | None = None) -> ProbeResult:
        """Its result once it ends."""
        return self.running.wait(timeout)  # type: ignore[no-any-return]

    def stop(self) -> None:
        """SIGTERM: the probe writes what it measured."""
        self.running.process.stop(grace=3.0)

    def progress(self) -> Tally:
        """Connections of the ladder tested so far."""
        return self.running.progress()  # type: ignore[no-any-return]

    def partial(self) -> ProbeResult | None:
        """What a stopped probe wrote before it exited (remaining connections ``skipped``)."""
        path = self.running.json_path
        if not path.exists():
            return None
        probe = RunResult.load(path).probes[0]
        probe.complete = False
        return probe


def system_keepalive(options: TcpSendOptions, endpoint: Endpoint) -> dict[str, Any]:
    """The keepalive interval and count a tcp-keepalive connection gets from its host when its options
    set none: the scenario's ``hosts:`` settings in real-world seconds, as the model reads them (the
    tool would read the node's sysctls as real-world seconds, which in a lab they are not)."""
    if not isinstance(options, TcpKeepaliveOptions):
        return {}
    _, interval, count = endpoint.keepalive
    return {"keepalive_interval": options.keepalive_interval or interval,
            "keepalive_count": options.keepalive_count or count}


def driver(ctx: DriverContext, spec: Any) -> Handle:
    """Start ``natsim serve`` on the server node, or on the backends it fronts (once each), and the probe
    on the client node."""
    from natsim.probes.tcp.labrun import start_probe, start_server

    for node in ctx.serving(spec.server):
        log = inside(ctx.workdir, f"serve-{node}.log")
        ctx.server(node, "natsim-serve", functools.partial(start_server, ctx.lab, node, log=log))
    options = options_of(spec)
    assert isinstance(options, TcpSendOptions)
    run = run_options(options, server=ctx.lab.address(spec.server),
                      time_scale=ctx.scenario.time_scale.factor, name=spec.name, node=spec.client,
                      **system_keepalive(options, ctx.scenario.hosts.get(spec.client, DEFAULT)))
    return TcpHandle(start_probe(ctx.lab, spec.client, spec.kind, run, workdir=ctx.workdir))
