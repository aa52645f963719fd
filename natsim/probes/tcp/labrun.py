"""Running the probe server and the TCP probes inside lab nodes.

Everything runs through the lab's ``popen`` (:class:`natsim.labview.RunningLab`), so processes live
in the nodes' namespaces and are stopped with the lab. The probes run as ``python -m natsim.probes
TOOL`` (the same code as ``natsim probe TOOL``, the tool of their kind) and hand their result back as
a JSON file in natsim's result schema.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from natsim.errors import LabError, ProbeError
from natsim.kernel_facts import TCP_KEEPALIVE_INTVL, TCP_KEEPALIVE_PROBES, TIMER_WHEEL_SLACK
from natsim.labview import NodeProcess, RunningLab
from natsim.outfiles import open_new
from natsim.paths import inside
from natsim.probes.options import option_fields, to_argv
from natsim.probes.registry import ProbeKind
from natsim.probes.registry import kind as probe_kind
from natsim.probes.tally import Tally, read_tally
from natsim.probes.tcp.options import TcpKeepaliveOptions, TcpProbeOptions, TcpRecvOptions
from natsim.probes.tcp.protocol import ECHO_PORT, SLEEP_PORT
from natsim.probes.tcp.send import read_guard
from natsim.probes.tools import TOOL_COMMAND
from natsim.report.schema import ProbeResult, RunResult


def _tool(kind: str) -> tuple[ProbeKind, str]:
    """The probe kind called ``kind`` and its tool's name."""
    probe = probe_kind(kind)
    if probe.tool is None:
        raise ProbeError(f"probe kind {kind!r} has no tool to run in a lab node")
    return probe, probe.tool.name


def start_server(lab: RunningLab, node: str = "server", *, log: Path | None = None,
                 ready_timeout: float = 10.0) -> NodeProcess:
    """Start ``natsim serve`` in ``node`` at the lab's time scale; return once both ports listen."""
    out: IO[Any] | int = open_new(log) if log is not None else subprocess.DEVNULL
    try:
        argv = [*TOOL_COMMAND, "serve", "--time-scale", f"{lab.time_scale.factor:g}"]
        if log is None:
            argv.append("--quiet")
        proc = lab.popen(node, argv, stdout=out, stderr=out)
    finally:
        if not isinstance(out, int):
            out.close()
    try:
        for port in (ECHO_PORT, SLEEP_PORT):
            lab.wait_port(node, port, proc, timeout=ready_timeout, log=log)
    except LabError as err:
        proc.stop()
        raise ProbeError(f"the probe server did not start: {err}") from err
    return proc


def progress_path(json_path: Path) -> Path:
    """Where the probe writing ``json_path`` reports its progress (``--progress``)."""
    return json_path.with_suffix(".progress")


def probe_argv(kind: str, options: TcpProbeOptions, json_path: Path) -> list[str]:
    """The command line that runs probe ``kind`` with ``options`` and writes ``json_path``: the kind's
    declared options as its flags (:func:`~natsim.probes.options.to_argv`), plus where and how to run."""
    probe, cli = _tool(kind)
    declared = probe.options(**{f.name: getattr(options, f.name) for f in option_fields(probe.options)})
    argv = [*TOOL_COMMAND, cli, "--server", options.server, *to_argv(declared),
            "--time-scale", f"{options.time_scale:g}", "--grace", f"{options.grace_wall:g}",
            "--connect-timeout", f"{options.connect_timeout_wall:g}", f"--out={json_path}",
            f"--progress={progress_path(json_path)}", "--source", "lab"]
    if options.name:
        argv.append(f"--name={options.name}")
    if options.node:
        argv.append(f"--node={options.node}")
    return argv


def expected_wall(kind: str, options: TcpProbeOptions) -> float:
    """Upper bound of a probe's wall-clock run time (connect, longest idle, verdict, grace)."""
    longest = max(options.idles()) / options.time_scale
    declared = _tool(kind)[0].options
    if issubclass(declared, TcpKeepaliveOptions):
        interval = (options.keepalive_interval or TCP_KEEPALIVE_INTVL) / options.time_scale
        count = options.keepalive_count or TCP_KEEPALIVE_PROBES
        tail = longest * TIMER_WHEEL_SLACK + max(1.0, interval) * (count + 1)
        tail += options.grace_wall
    elif issubclass(declared, TcpRecvOptions):
        tail = options.grace_wall
    else:
        tail = read_guard(options)
    return options.connect_timeout_wall + longest + tail + 5.0


@dataclass
class RunningProbe:
    """A probe started in a lab node; :meth:`wait` returns its result."""

    kind: str
    node: str
    options: TcpProbeOptions
    process: NodeProcess
    json_path: Path
    log_path: Path

    def wait(self, timeout: float | None = None) -> ProbeResult:
        """Wait for the probe to finish and load its result; :class:`ProbeError` when it failed."""
        limit = timeout if timeout is not None else expected_wall(self.kind, self.options)
        try:
            code = self.process.popen.wait(timeout=limit)
        except subprocess.TimeoutExpired as err:
            self.process.stop()
            # its output: log= (a run names where the log is kept, see natsim.run.experiment)
            raise ProbeError(f"{self.node}: {self.kind} did not finish within {limit:.0f} s",
                             log=self.log_path) from err
        finally:
            progress_path(self.json_path).unlink(missing_ok=True)
        if code != 0 or not self.json_path.exists():
            tail = self.log_path.read_text(errors="replace")[-800:] if self.log_path.exists() else ""
            raise ProbeError(f"{self.node}: {self.kind} exited {code}: {tail.strip()}", log=self.log_path)
        run = RunResult.load(self.json_path)
        return run.probes[0]

    def progress(self) -> Tally:
        """Connections tested so far, of the ladder's."""
        return read_tally(progress_path(self.json_path), self.options.connections)

    @property
    def lines(self) -> str:
        """What the probe printed (the original-style lines)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_probe(lab: RunningLab, node: str, kind: str, options: TcpProbeOptions, *,
                workdir: Path | None = None) -> RunningProbe:
    """Start probe ``kind`` in ``node`` (the options' time scale must be the lab's)."""
    _, cli = _tool(kind)
    if options.time_scale != lab.time_scale.factor:
        raise ProbeError(f"probe time scale {options.time_scale:g} differs from the lab's "
                         f"{lab.time_scale.factor:g}")
    directory = workdir or Path(tempfile.mkdtemp(prefix="natsim-probe-"))
    stem = f"{node}-{cli}-{options.name or 'probe'}"
    json_path, log_path = inside(directory, f"{stem}.json"), inside(directory, f"{stem}.log")
    json_path.unlink(missing_ok=True)
    with open_new(log_path) as log:
        proc = lab.popen(node, probe_argv(kind, options, json_path), stdout=log, stderr=subprocess.STDOUT)
    return RunningProbe(kind, node, options, proc, json_path, log_path)

