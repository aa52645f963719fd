"""The lab driver of the ``wireguard`` probe: real WireGuard tunnels (:mod:`.tunnels`), and through each
one a udp-recv flow of one rung (``natsim serve`` on the server node answers on every tunnel address).

The result is one :class:`~natsim.report.schema.ProbeResult` of kind ``wireguard``, a connection per
tunnel, whose ``extra`` says what ran (``ran``, shown in the summary; ``wireguard``: the wireguard-go
version) and lists WireGuard's
wall-clock timers under ``unscaled`` when the lab is scaled.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from natsim.labview import NodeProcess
from natsim.probes.driver_context import DriverContext
from natsim.probes.labtool import RunningProbe
from natsim.probes.registry import Handle, PartialResults, options_of
from natsim.probes.tally import Tally
from natsim.probes.udp.options import UdpRecvOptions, WireguardOptions, run_options
from natsim.report.schema import ConnectionResult, ProbeResult, Verdict, estimate_timeout
from natsim.units import TimeScale

#: The key prefix of a wireguard probe's tunnels among a run's servers (one slot per probe).
SLOT = "wireguard:"
#: WireGuard's own timers (wireguard-go ``device/constants.go``): wall-clock in a lab.
WIREGUARD_TIMERS = "WireGuard's passive keepalive (10 s), handshake retry (5 s) and rekey (120 s)"


@dataclass
class TunnelProbe(PartialResults):
    """A wireguard probe running in the lab: its tunnels and one udp-recv per tunnel."""

    spec: Any
    options: WireguardOptions
    version: str
    tunnels: list[NodeProcess]
    flows: list[RunningProbe]
    scale: float

    def wait(self, timeout: float | None = None) -> ProbeResult:
        """Every tunnel's verdict once all are decided."""
        try:
            inner = [flow.wait(timeout) for flow in self.flows]
        finally:
            self._stop_tunnels()
        return self._result([probe.connections[0] if probe.connections else None for probe in inner])

    def stop(self) -> None:
        """Stop the flows (they write what they measured), then the tunnels."""
        for flow in self.flows:
            flow.stop()
        self._stop_tunnels()

    def progress(self) -> Tally:
        """Tunnels decided so far (each tunnel's udp-recv flow has one connection)."""
        return Tally(sum(flow.progress().done for flow in self.flows), len(self.flows))

    def partial(self) -> ProbeResult | None:
        """The tunnels decided before the probe was stopped; the rest ``skipped``."""
        parts = [flow.partial() for flow in self.flows]
        result = self._result([p.connections[0] if p is not None and p.connections else None for p in parts])
        result.complete = False
        return result

    def _stop_tunnels(self) -> None:
        for proc in self.tunnels:
            proc.stop()

    def _result(self, inner: list[ConnectionResult | None]) -> ProbeResult:
        connections = []
        for i, flow in enumerate(inner):
            idle = self.options.idle(i)
            if flow is None or flow.verdict is Verdict.SKIPPED:
                connections.append(ConnectionResult(i, idle, Verdict.SKIPPED, detail="not decided"))
                continue
            connections.append(replace(flow, index=i, detail=f"tunnel {i}: {flow.detail}".rstrip(": ")))
        extra: dict[str, object] = {"wireguard": self.version, "ran": f"real WireGuard ({self.version})",
                                    "persistent_keepalive": self.options.persistent_keepalive,
                                    "step": self.options.step}
        if self.scale != 1:
            extra["unscaled"] = [f"{WIREGUARD_TIMERS} are wall-clock: x{self.scale:g} in real-world time"]
        return ProbeResult(name=self.spec.name, kind=self.spec.kind, target=f"{self.spec.server} (WireGuard)",
                           node=self.spec.client, connections=connections,
                           estimate=estimate_timeout(connections), extra=extra,
                           complete=all(c.verdict is not Verdict.SKIPPED for c in connections))


def keepalive_seconds(options: WireguardOptions, scale: TimeScale, name: str) -> int:
    """PersistentKeepalive in whole lab seconds (a rounding that could change a verdict is refused)."""
    if not options.persistent_keepalive:
        return 0
    return scale.kernel_seconds(f"{name}.persistent_keepalive", options.persistent_keepalive,
                                strict=True).lab


def driver(ctx: DriverContext, spec: Any) -> Handle:
    """Start ``natsim serve`` on the server (once), the tunnels, and a udp-recv flow through each."""
    from natsim.probes.labtool import serve_once
    from natsim.probes.udp.labrun import start_probe
    from natsim.probes.udp.tunnels import start_tunnels, tunnel_addresses, wireguard_version

    options = options_of(spec)
    assert isinstance(options, WireguardOptions)
    scale = ctx.scenario.time_scale
    keepalive = keepalive_seconds(options, scale, spec.name)
    version = wireguard_version()
    serve_once(ctx, spec.server)
    slot = sum(1 for node, service in ctx.servers if node == spec.server and service.startswith(SLOT))
    tunnels = ctx.server(spec.server, f"{SLOT}{spec.name}", lambda: start_tunnels(
        ctx.lab, spec.client, spec.server, options.connections, keepalive, ctx.workdir, slot=slot))
    flows = []
    for i in range(options.connections):
        one = UdpRecvOptions(connections=1, first=options.idle(i), step=options.step, port=options.port)
        run = run_options(one, server=tunnel_addresses(i, slot)[0], time_scale=scale.factor,
                          name=f"{spec.name}-{i}", node=spec.client)
        flows.append(start_probe(ctx.lab, spec.client, UdpRecvOptions.kind, run, workdir=ctx.workdir))
    return TunnelProbe(spec, options, version, tunnels, flows, scale.factor)
