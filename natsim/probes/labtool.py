"""Running natsim's probe server and probe tools inside lab nodes (shared by the TCP and UDP families).

Everything runs through the lab's ``popen`` (:class:`natsim.labview.RunningLab`), so processes live in
the nodes' namespaces and are stopped with the lab. ``natsim serve`` provides every service the TCP and
UDP probes talk to in one process, started once per node (:func:`serve_once`); a probe runs as
``python -m natsim.probes TOOL`` (the same code as ``natsim probe TOOL``) and hands its result back as a
JSON file in natsim's result schema (:class:`RunningProbe`).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from natsim.errors import LabError, ProbeError
from natsim.labview import NodeProcess, RunningLab
from natsim.outfiles import open_new
from natsim.paths import inside
from natsim.probes.driver_context import DriverContext
from natsim.probes.registry import PartialResults, ProbeKind
from natsim.probes.registry import kind as probe_kind
from natsim.probes.serve import SERVICES
from natsim.probes.tally import Tally, read_tally
from natsim.probes.tools import TOOL_COMMAND
from natsim.report.schema import ProbeResult, RunResult

#: The key of ``natsim serve`` among a run's started servers (:meth:`DriverContext.server`).
SERVE = "natsim-serve"


def tool_of(kind: str) -> tuple[ProbeKind, str]:
    """The probe kind called ``kind`` and its tool's name."""
    probe = probe_kind(kind)
    if probe.tool is None:
        raise ProbeError(f"probe kind {kind!r} has no tool to run in a lab node")
    return probe, probe.tool.name


def start_server(lab: RunningLab, node: str = "server", *, log: Path | None = None,
                 ready_timeout: float = 10.0) -> NodeProcess:
    """Start ``natsim serve`` in ``node`` at the lab's time scale; return once every service of
    :data:`SERVICES` is bound."""
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
        for service in SERVICES:
            lab.wait_port(node, service.port, proc, timeout=ready_timeout, log=log,
                          transport=service.transport)
    except LabError as err:
        proc.stop()
        raise ProbeError(f"the probe server did not start: {err}") from err
    return proc


def serve_once(ctx: DriverContext, node: str) -> NodeProcess:
    """``natsim serve`` on ``node``, started the first time a probe of the run needs it."""
    log = inside(ctx.workdir, f"serve-{node}.log")
    return ctx.server(node, SERVE, lambda: start_server(ctx.lab, node, log=log))  # type: ignore[no-any-return]


def progress_path(json_path: Path) -> Path:
    """Where the probe writing ``json_path`` reports its progress (``--progress``)."""
    return json_path.with_suffix(".progress")


@dataclass
class RunningProbe(PartialResults):
    """A probe tool started in a lab node, the handle its driver returns (a
    :class:`~natsim.probes.registry.Handle` that keeps what a stopped probe measured): :meth:`wait`
    returns its result. ``limit``: wall seconds it may take at most."""

    kind: str
    node: str
    options: Any
    process: NodeProcess
    json_path: Path
    log_path: Path
    limit: float

    def wait(self, timeout: float | None = None) -> ProbeResult:
        """Wait for the probe to finish and load its result; :class:`ProbeError` when it failed."""
        limit = timeout if timeout is not None else self.limit
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

    def stop(self) -> None:
        """SIGTERM: the tool writes what it measured."""
        self.process.stop(grace=3.0)

    def partial(self) -> ProbeResult | None:
        """What a stopped probe wrote before it exited (remaining connections ``skipped``), or None."""
        if not self.json_path.exists():
            return None
        probe = RunResult.load(self.json_path).probes[0]
        probe.complete = False
        return probe

    @property
    def lines(self) -> str:
        """What the probe printed (the original-style lines)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_tool(lab: RunningLab, node: str, kind: str, argv: Callable[[Path], list[str]], options: Any, *,
               workdir: Path, stem: str, limit: float) -> RunningProbe:
    """Start ``argv(json_path)`` (a tool's command line writing its result to ``json_path``) in ``node``,
    its output in ``workdir/STEM.log`` and its result in ``workdir/STEM.json``."""
    json_path, log_path = inside(workdir, f"{stem}.json"), inside(workdir, f"{stem}.log")
    json_path.unlink(missing_ok=True)
    with open_new(log_path) as log:
        proc = lab.popen(node, argv(json_path), stdout=log, stderr=subprocess.STDOUT)
    return RunningProbe(kind, node, options, proc, json_path, log_path, limit)
