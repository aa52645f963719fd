"""The lab driver of the TCP probes: the probe server in the server node (once), the probe tool in the
client node (``python -m natsim.probes KIND``), its result read back."""

from __future__ import annotations

from typing import Any

from natsim.endpoint import DEFAULT, Endpoint
from natsim.probes.driver_context import DriverContext
from natsim.probes.registry import Handle, options_of
from natsim.probes.tcp.options import TcpKeepaliveOptions, TcpSendOptions, run_options


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
    on the client node (its handle: :class:`natsim.probes.labtool.RunningProbe`)."""
    from natsim.probes.labtool import serve_once
    from natsim.probes.tcp.labrun import start_probe

    for node in ctx.serving(spec.server):
        serve_once(ctx, node)
    options = options_of(spec)
    assert isinstance(options, TcpSendOptions)
    run = run_options(options, server=ctx.lab.address(spec.server),
                      time_scale=ctx.scenario.time_scale.factor, name=spec.name, node=spec.client,
                      **system_keepalive(options, ctx.scenario.hosts.get(spec.client, DEFAULT)))
    return start_probe(ctx.lab, spec.client, spec.kind, run, workdir=ctx.workdir)
