"""Running the STUN server and the ``nat-type`` tool inside lab nodes (on :mod:`natsim.probes.toolrun`:
through the lab's ``popen``, so they live in the nodes' namespaces and stop with the lab). The tool hands
its result back as a JSON file in natsim's result schema."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from natsim.errors import LabError
from natsim.labview import NodeProcess, RunningLab
from natsim.probes.options import to_argv
from natsim.probes.stun.cli import TIMEOUT
from natsim.probes.stun.options import NatTypeOptions
from natsim.probes.stun.ports import STUN_PORT, alternate_port
from natsim.probes.tally import Tally, read_tally
from natsim.probes.toolrun import ToolRun, launch, progress_path, start_service
from natsim.probes.tools import TOOL_COMMAND
from natsim.report.schema import ProbeResult


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
    last = alternate_port(port) if len(addresses) > 1 else port   # the alternate port is bound last
    return start_service(lab, node, server_argv(addresses, port), what="STUN server", log=log,
                         ports=[(last, "udp")], ready_timeout=ready_timeout)


def probe_argv(options: NatTypeOptions, *, server: str, time_scale: float, json_path: Path,
               name: str | None, node: str | None, timeout: float = TIMEOUT) -> list[str]:
    """The command line of the tool: the kind's declared options as flags, where and how to run."""
    argv = [*TOOL_COMMAND, "nat-type", "--stun", server, *to_argv(options), "--time-scale",
            f"{time_scale:g}", "--timeout", f"{timeout:g}", f"--out={json_path}",
            f"--progress={progress_path(json_path)}", "--source", "lab"]
    return argv + [f"--name={name}"] * bool(name) + [f"--node={node}"] * bool(node)


def expected_wall(options: NatTypeOptions, time_scale: float, timeout: float = TIMEOUT) -> float:
    """Upper bound of the tool's wall-clock run: every exchange of the slowest branch timing out."""
    lifetimes = options.lifetimes()
    longest = max(lifetimes) / time_scale + 2 * timeout if lifetimes else 0.0
    return 3 * timeout + max(3 * timeout, longest) + 10.0


@dataclass
class RunningNatType(ToolRun):
    """The tool started in a lab node; :meth:`wait` returns its result."""

    limit: float

    def wait(self, timeout: float | None = None) -> ProbeResult:
        """Its result once it ends; :class:`ProbeError` when it failed."""
        return self.result(timeout if timeout is not None else self.limit)

    def progress(self) -> Tally:
        """Exchanges with a verdict so far (how many there will be depends on the answers)."""
        return read_tally(progress_path(self.json_path), None)


def start_probe(lab: RunningLab, node: str, options: NatTypeOptions, *, server: str, workdir: Path,
                name: str | None = None) -> RunningNatType:
    """Start the tool in ``node`` against the STUN server at ``server`` (``ip:port``)."""
    scale = lab.time_scale.factor
    run = launch(lab, node, lambda json_path: probe_argv(options, server=server, time_scale=scale,
                                                         json_path=json_path, name=name, node=node),
                 label="nat-type", workdir=workdir, stem=f"{node}-nat-type-{name or 'probe'}")
    return RunningNatType(run.label, run.node, run.process, run.json_path, run.log_path,
                          expected_wall(options, scale))
