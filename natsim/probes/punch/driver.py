"""The lab driver of ``hole-punch``: the rendezvous in the server node (once per port), the tool in both
peers with one session, their results joined into the probe's (:func:`.punch_result.joined`)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from natsim.errors import LabError, ProbeError
from natsim.labview import NodeProcess, RunningLab
from natsim.outfiles import open_new
from natsim.paths import inside
from natsim.probes.driver_context import DriverContext
from natsim.probes.options import to_argv
from natsim.probes.punch.cli import SETUP_TIMEOUT
from natsim.probes.punch.messages import RENDEZVOUS_PORT
from natsim.probes.punch.options import HolePunchOptions
from natsim.probes.punch.punch_result import joined
from natsim.probes.registry import Handle, options_of
from natsim.probes.tally import Tally
from natsim.probes.tools import TOOL_COMMAND
from natsim.report.schema import ProbeResult, RunResult


def start_rendezvous(lab: RunningLab, node: str, *, log: Path, port: int,
                     ready_timeout: float = 10.0) -> NodeProcess:
    """``natsim serve --rendezvous-only`` in ``node`` on ``port``; return once it listens."""
    argv = [*TOOL_COMMAND, "serve", "--rendezvous-only", "--rendezvous-port", str(port)]
    out: IO[Any]
    with open_new(log) as out:
        proc = lab.popen(node, argv, stdout=out, stderr=out)
    try:
        lab.wait_port(node, port, proc, timeout=ready_timeout, log=log, transport="udp")
    except LabError as err:
        proc.stop()
        raise ProbeError(f"the rendezvous did not start: {err}") from err
    return proc


@dataclass
class Peer:
    """One peer's tool, running."""

    node: str
    process: NodeProcess
    json_path: Path
    log_path: Path

    def result(self, limit: float) -> ProbeResult:
        """Its result once it ends; :class:`ProbeError` when it failed."""
        try:
            code = self.process.popen.wait(timeout=limit)
        except subprocess.TimeoutExpired as err:
            self.process.stop()
            raise ProbeError(f"{self.node}: hole-punch did not finish within {limit:.0f} s",
                             log=self.log_path) from err
        if code != 0 or not self.json_path.exists():
            tail = self.log_path.read_text(errors="replace")[-800:] if self.log_path.exists() else ""
            raise ProbeError(f"{self.node}: hole-punch exited {code}: {tail.strip()}", log=self.log_path)
        return RunResult.load(self.json_path).probes[0]


@dataclass
class RunningPunch:
    """Both peers' tools; :meth:`wait` joins their results."""

    name: str
    target: str
    peers: list[Peer]
    limit: float

    def wait(self, timeout: float | None = None) -> ProbeResult:
        """Both results, joined (the client's first)."""
        limit = timeout if timeout is not None else self.limit
        sides = [peer.result(limit) for peer in self.peers]
        return joined(self.name, HolePunchOptions.kind, self.target, self.peers[0].node, sides)

    def stop(self) -> None:
        """SIGTERM both."""
        for peer in self.peers:
            peer.process.stop(grace=3.0)

    def progress(self) -> Tally:
        """Peers done, of two."""
        return Tally(sum(p.process.popen.poll() is not None for p in self.peers), len(self.peers))


def peer_argv(options: HolePunchOptions, *, rendezvous: str, session: str, time_scale: float, json_path: Path,
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
    peers = []
    for node in (spec.client, options.peer):
        stem = f"{node}-hole-punch-{spec.name}"
        json_path, log_path = inside(ctx.workdir, f"{stem}.json"), inside(ctx.workdir, f"{stem}.log")
        json_path.unlink(missing_ok=True)
        argv = peer_argv(options, rendezvous=rendezvous, session=f"{ctx.scenario.name}/{spec.name}",
                         time_scale=scale, json_path=json_path, name=spec.name, node=node)
        with open_new(log_path) as out:
            proc = ctx.lab.popen(node, argv, stdout=out, stderr=subprocess.STDOUT)
        peers.append(Peer(node, proc, json_path, log_path))
    limit = SETUP_TIMEOUT + options.duration / scale + 15.0
    return RunningPunch(spec.name, rendezvous, peers, limit)
