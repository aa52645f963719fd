"""Running the STUN server and the ``nat-type`` tool inside lab nodes (through the lab's ``popen``, so
they live in the nodes' namespaces and stop with the lab). The tool hands its result back as a JSON
file in natsim's result schema."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from natsim.errors import LabError, ProbeError
from natsim.labview import NodeProcess, RunningLab
from natsim.outfiles import open_new
from natsim.paths import inside
from natsim.probes.options import to_argv
from natsim.probes.stun.cli import TIMEOUT
from natsim.probes.stun.options import NatTypeOptions
from natsim.probes.stun.ports import STUN_PORT, alternate_port
from natsim.probes.tally import Tally, read_tally
from natsim.probes.tools import TOOL_COMMAND
from natsim.report.schema import ProbeResult, RunResult


def node_addresses(lab: RunningLab, node: str) -> list[str]:
    """The IPv4 addresses of ``node``, its first one (what its name stands for) first."""
    code, out = lab.run(node, ["ip", "-4", "-o", "addr", "show", "scope", "global"])
    if code != 0:
        raise LabError(f"{node}: cannot list its addresses: {out.strip()}")
    found = []
    for line in out.splitlines():
        words = line.split()
        if "inet" in words[:-1]:
            found.append(words[words.index("inet") + 1].split("/")[0])
    first = lab.address(node)
    return [first, *dict.fromkeys(a for a in found if a != first)]


def server_argv(addresses: list[str], port: int = STUN_PORT) -> list[str]:
    """``natsim serve`` with only its STUN server, on the node's first two addresses (one address: a
    plain RFC 5389 server, without CHANGE-REQUEST) and ``port`` (and :func:`alternate_port`)."""
    argv = [*TOOL_COMMAND, "serve", "--stun-only", "--stun-address", addresses[0],
            "--stun-port", str(port), "--stun-alt-port", str(alternate_port(port))]
    if len(addresses) > 1:
        argv += ["--stun-alt-address", addresses[1]]
    return argv


def start_server(lab: RunningLab, node: str, *, log: Path, port: int = STUN_PORT,
                 ready_timeout: float = 10.0) -> NodeProcess:
    """Start the STUN server in ``node`` on its first two addresses and ``port``; return once it
    listens."""
    addresses = node_addresses(lab, node)
    out: IO[Any]
    with open_new(log) as out:
        proc = lab.popen(node, server_argv(addresses, port), stdout=out, stderr=out)
    try:   # the alternate port's sockets are bound last
        lab.wait_port(node, alternate_port(port) if len(addresses) > 1 else port, proc,
                      timeout=ready_timeout, log=log, transport="udp")
    except LabError as err:
        proc.stop()
        raise ProbeError(f"the STUN server did not start: {err}") from err
    return proc


def probe_argv(options: NatTypeOptions, *, server: str, time_scale: float, json_path: Path,
               name: str | None, node: str | None, timeout: float = TIMEOUT) -> list[str]:
    """The command line of the tool: the kind's declared options as flags, where and how to run."""
    argv = [*TOOL_COMMAND, "nat-type", "--stun", server, *to_argv(options), "--time-scale",
            f"{time_scale:g}", "--timeout", f"{timeout:g}", f"--out={json_path}",
            f"--progress={progress_path(json_path)}", "--source", "lab"]
    return argv + [f"--name={name}"] * bool(name) + [f"--node={node}"] * bool(node)


def progress_path(json_path: Path) -> Path:
    """Where the tool writing ``json_path`` counts its exchanges (``--progress``)."""
    return json_path.with_suffix(".progress")


def expected_wall(options: NatTypeOptions, time_scale: float, timeout: float = TIMEOUT) -> float:
    """Upper bound of the tool's wall-clock run: every exchange of the slowest branch timing out."""
    lifetimes = options.lifetimes()
    longest = max(lifetimes) / time_scale + 2 * timeout if lifetimes else 0.0
    return 3 * timeout + max(3 * timeout, longest) + 10.0


@dataclass
class RunningNatType:
    """The tool started in a lab node; :meth:`wait` returns its result."""

    node: str
    process: NodeProcess
    json_path: Path
    log_path: Path
    limit: float

    def wait(self, timeout: float | None = None) -> ProbeResult:
        """Its result once it ends; :class:`ProbeError` when it failed."""
        limit = timeout if timeout is not None else self.limit
        try:
            code = self.process.popen.wait(timeout=limit)
        except subprocess.TimeoutExpired as err:
            self.process.stop()
            raise ProbeError(f"{self.node}: nat-type did not finish within {limit:.0f} s",
                             log=self.log_path) from err
        if code != 0 or not self.json_path.exists():
            tail = self.log_path.read_text(errors="replace")[-800:] if self.log_path.exists() else ""
            raise ProbeError(f"{self.node}: nat-type exited {code}: {tail.strip()}", log=self.log_path)
        return RunResult.load(self.json_path).probes[0]

    def stop(self) -> None:
        """SIGTERM: the tool writes what it observed."""
        self.process.stop(grace=3.0)

    def progress(self) -> Tally:
        """Exchanges with a verdict so far (how many there will be depends on the answers)."""
        return read_tally(progress_path(self.json_path), None)

    def partial(self) -> ProbeResult | None:
        """What a stopped tool wrote before it exited."""
        if not self.json_path.exists():
            return None
        probe = RunResult.load(self.json_path).probes[0]
        probe.complete = False
        return probe


def start_probe(lab: RunningLab, node: str, options: NatTypeOptions, *, server: str, workdir: Path,
                name: str | None = None) -> RunningNatType:
    """Start the tool in ``node`` against the STUN server at ``server`` (``ip:port``)."""
    stem = f"{node}-nat-type-{name or 'probe'}"
    json_path, log_path = inside(workdir, f"{stem}.json"), inside(workdir, f"{stem}.log")
    json_path.unlink(missing_ok=True)
    scale = lab.time_scale.factor
    argv = probe_argv(options, server=server, time_scale=scale, json_path=json_path, name=name, node=node)
    with open_new(log_path) as log:
        proc = lab.popen(node, argv, stdout=log, stderr=subprocess.STDOUT)
    return RunningNatType(node, proc, json_path, log_path, expected_wall(options, scale))
