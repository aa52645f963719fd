"""The lab driver of the UDP probes: ``natsim serve`` in the server node (once per node, shared with the
TCP probes), the probe tool in the client node, its result read back."""

from __future__ import annotations

from typing import Any

from natsim.probes.driver_context import DriverContext
from natsim.probes.registry import Handle, options_of
from natsim.probes.udp.options import UdpSendOptions, run_options


def driver(ctx: DriverContext, spec: Any) -> Handle:
    """Start ``natsim serve`` on the server node (once) and the probe on the client node."""
    from natsim.probes.labtool import serve_once
    from natsim.probes.udp.labrun import start_probe

    serve_once(ctx, spec.server)
    options = options_of(spec)
    assert isinstance(options, UdpSendOptions)
    run = run_options(options, server=ctx.lab.address(spec.server),
                      time_scale=ctx.scenario.time_scale.factor, name=spec.name, node=spec.client)
    return start_probe(ctx.lab, spec.client, spec.kind, run, workdir=ctx.workdir)
