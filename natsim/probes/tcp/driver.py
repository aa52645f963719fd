"""The lab driver of the TCP probes: the probe server in the server node (once), the probe tool in the
client node (``python -m natsim.probes KIND``), its result read back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from natsim.paths import inside
from natsim.probes.driver_context import DriverContext
from natsim.probes.registry import Handle, PartialResults, options_of
from natsim.probes.tally import Tally
from natsim.probes.tcp.options import TcpSendOptions, run_options
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


def driver(ctx: DriverContext, spec: Any) -> Handle:
    """Start ``natsim serve`` on the server node (once) and the probe on the client node."""
    from natsim.probes.tcp.labrun import start_probe, start_server

    log = inside(ctx.workdir, f"serve-{spec.server}.log")
    ctx.server(spec.server, "natsim-serve", lambda: start_server(ctx.lab, spec.server, log=log))
    options = options_of(spec)
    assert isinstance(options, TcpSendOptions)
    run = run_options(options, server=ctx.lab.address(spec.server),
                      time_scale=ctx.scenario.time_scale.factor, name=spec.name, node=spec.client)
    return TcpHandle(start_probe(ctx.lab, spec.client, spec.kind, run, workdir=ctx.workdir))
