"""The lab driver of ``nat-type``: the STUN server in the server node (once, on its first two
addresses), the tool in the client node, its result read back."""

from __future__ import annotations

from typing import Any

from natsim.paths import inside
from natsim.probes.driver_context import DriverContext
from natsim.probes.registry import Handle, options_of
from natsim.probes.stun.labrun import start_probe, start_server
from natsim.probes.stun.options import NatTypeOptions
from natsim.probes.stun.ports import STUN_PORT


def driver(ctx: DriverContext, spec: Any) -> Handle:
    """Start ``natsim serve --stun-only`` on the server node (once per port) and the tool on the client
    node."""
    options = options_of(spec)
    assert isinstance(options, NatTypeOptions)
    port = options.port or STUN_PORT
    log = inside(ctx.workdir, f"serve-stun-{spec.server}-{port}.log")
    ctx.server(spec.server, f"natsim-serve-stun:{port}",
               lambda: start_server(ctx.lab, spec.server, log=log, port=port))
    server = f"{ctx.lab.address(spec.server)}:{port}"
    return start_probe(ctx.lab, spec.client, options, server=server, workdir=ctx.workdir, name=spec.name)
