"""The lab driver of ``hole-punch``: the rendezvous in the server node (once per port), the tool in both
peers with one session, their results joined into the probe's (:func:`.punch_result.joined`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from natsim.errors import ProbeError
from natsim.labview import NodeProcess, RunningLab
from natsim.paths import inside
from natsim.probes.driver_context import DriverContext
from natsim.probes.options import to_argv
from natsim.probes.punch.cli import SETUP_TIMEOUT
from natsim.probes.punch.messages import RENDEZVOUS_PORT
from natsim.probes.punch.options import HolePunchOptions
from natsim.probes.punch.punch_result import joined
from natsim.probes.registry import Handle, options_of
from natsim.probes.tally import Tally
from natsim.probes.toolrun import ToolRun, launch, start_service
from natsim.probes.tools import TOOL_COMMAND
from natsim.report.schema import ProbeResult


def start_rendezvous(lab: RunningLab, node: str, *, log: Path, port: int,
                     ready_timeout: float = 10.0) -> NodeProcess:
    """``natsim serve --rendezvous-only`` in ``node`` on ``port``; return once it listens."""
    argv = [*TOOL_COMMAND, "serve", "--rendezvous-only", "--rendezvous-port", str(port)]
    return start_service(lab, node, argv, what="rendezvous", log=log, ports=[(port, "udp")],
                         ready_timeout=ready_timeout)


@dataclass
class RunningPunch:
    """Both peers' tools; :meth:`wait` joins their results."""

    name: str
    target: str
    peers: list[ToolRun]
    limit: float

    def wait(self, timeout: float | None = None) -> ProbeResult:
        """Both results, joined (the client's first)."""
        limit = timeout if timeout is not None else self.limit
        sides = [peer.result(limit) for peer in self.peers]
        return joined(self.name, HolePunchOptions.kind, self.target, self.peers[0].node, sides)

    def stop(self) -> None:
        """SIGTERM both."""
        for peer in self.peers:
            peer.stop()

    def progress(self) -> Tally:
        """Peers done, of two."""
        return Tally(sum(p.process.popen.poll() is not None for p in self.peers), len(self.peers))


def peer_argv(options: HolePunchOptions, json_path: Path, *, rendezvous: str, session: str, time_scale: float,
              name: str, node: str) -> list[str]:
    """The tool's command line in ``node``."""
    return [*TOOL_COMMAND, "hole-punch", "--rendezvous", rendezvous, "--session", session, *to_argv(options),
            "--time-scale", f"{time_scale:g}", f"--out={json_path}", "--source", "lab", f"--name={name}",
            f"--node={node}"]


def driver(ctx: DriverContext, spec: Any) -> Handle:
    """Start the rendezvous on the server node (once per port) and the tool on both peers."""
    options = options_of(spec)
    assert isinstance(options, HolePunchOptions)
    if not options.peer:
        raise ProbeError(f"probe {spec.name}: hole-punch needs `peer` (the other peer's node)")
    port = options.port or RENDEZVOUS_PORT
    log = inside(ctx.workdir, f"serve-rendezvous-{spec.server}-{port}.log")
    ctx.server(spec.server, f"natsim-serve-rendezvous:{port}",
               lambda: start_rendezvous(ctx.lab, spec.server, log=log, port=port))
    rendezvous = f"{ctx.lab.address(spec.server)}:{port}"
    scale = ctx.lab.time_scale.factor
    session = f"{ctx.scenario.name}/{spec.name}"
    peers = []
    for node in (spec.client, options.peer):
        peers.append(launch(ctx.lab, node, partial(peer_argv, options, rendezvous=rendezvous, session=session,
                                                   time_scale=scale, name=spec.name, node=node),
                            label=HolePunchOptions.kind, workdir=ctx.workdir,
                            stem=f"{node}-hole-punch-{spec.name}"))
    limit = SETUP_TIMEOUT + options.duration / scale + 15.0
    return RunningPunch(spec.name, rendezvous, peers, limit)
