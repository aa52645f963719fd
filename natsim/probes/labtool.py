"""Running natsim's probe server and probe tools inside lab nodes (shared by the TCP and UDP families).

Everything runs through the lab's ``popen`` (:class:`natsim.labview.RunningLab`), so processes live in
the nodes' namespaces and are stopped with the lab. ``natsim serve`` provides every service the TCP and
UDP probes talk to in one process, started once per node (:func:`serve_once`); a probe runs as
``python -m natsim.probes TOOL`` (the same code as ``natsim probe TOOL``) and hands its result back as a
JSON file in natsim's result schema (:class:`RunningProbe`, on :mod:`natsim.probes.toolrun`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from natsim.errors import ProbeError
from natsim.labview import NodeProcess, RunningLab
from natsim.paths import inside
from natsim.probes.driver_context import DriverContext
from natsim.probes.options import option_fields, to_argv
from natsim.probes.registry import PartialResults, ProbeKind
from natsim.probes.registry import kind as probe_kind
from natsim.probes.serve import SERVICES
from natsim.probes.tally import Tally, read_tally
from natsim.probes.toolrun import ToolRun, launch, progress_path, start_service
from natsim.probes.tools import TOOL_COMMAND
from natsim.report.schema import ProbeResult

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
    argv = [*TOOL_COMMAND, "serve", "--time-scale", f"{lab.time_scale.factor:g}"]
    if log is None:
        argv.append("--quiet")
    return start_service(lab, node, argv, what="probe server", log=log, ready_timeout=ready_timeout,
                         ports=[(service.port, service.transport) for service in SERVICES])


def probe_argv(kind: str, options: Any, json_path: Path, *, timeout_flag: str, timeout: float) -> list[str]:
    """The command line that runs TCP or UDP probe ``kind`` with ``options`` and writes ``json_path``: the
    kind's declared options as its flags (:func:`~natsim.probes.options.to_argv`), plus where and how to
    run; ``timeout_flag``: the family's wall limit on setting a connection up (``--connect-timeout``,
    ``--setup-timeout``), ``timeout`` seconds."""
    probe, _ = tool_of(kind)
    declared = probe.options(**{f.name: getattr(options, f.name) for f in option_fields(probe.options)})
    argv = [*TOOL_COMMAND, kind, "--server", options.server, *to_argv(declared),
            "--time-scale", f"{options.time_scale:g}", "--grace", f"{options.grace_wall:g}",
            timeout_flag, f"{timeout:g}", f"--out={json_path}", f"--progress={progress_path(json_path)}",
            "--source", "lab"]
    if options.name:
        argv.append(f"--name={options.name}")
    if options.node:
        argv.append(f"--node={options.node}")
    return argv


def check_scale(options: Any, lab: RunningLab) -> None:
    """:class:`ProbeError` unless the probe ``options``' time scale is the lab's."""
    if options.time_scale != lab.time_scale.factor:
        raise ProbeError(f"probe time scale {options.time_scale:g} differs from the lab's "
                         f"{lab.time_scale.factor:g}")


def serve_once(ctx: DriverContext, node: str) -> NodeProcess:
    """``natsim serve`` on ``node``, started the first time a probe of the run needs it."""
    log = inside(ctx.workdir, f"serve-{node}.log")
    return ctx.server(node, SERVE, lambda: start_server(ctx.lab, node, log=log))  # type: ignore[no-any-return]


@dataclass
class RunningProbe(ToolRun, PartialResults):
    """A probe tool started in a lab node (its ``label``: the probe kind), the handle its driver returns
    (a :class:`~natsim.probes.registry.Handle` that keeps what a stopped probe measured): :meth:`wait`
    returns its result. ``limit``: wall seconds it may take at most."""

    options: Any
    limit: float

    @property
    def kind(self) -> str:
        """The probe kind."""
        return self.label

    def wait(self, timeout: float | None = None) -> ProbeResult:
        """Wait for the probe to finish and load its result; :class:`ProbeError` when it failed."""
        try:
            return self.result(timeout if timeout is not None else self.limit)
        finally:
            progress_path(self.json_path).unlink(missing_ok=True)

    def progress(self) -> Tally:
        """Connections tested so far, of the ladder's."""
        return read_tally(progress_path(self.json_path), self.options.connections)


def start_tool(lab: RunningLab, node: str, kind: str, argv: Callable[[Path], list[str]], options: Any, *,
               workdir: Path, stem: str, limit: float) -> RunningProbe:
    """Start ``argv(json_path)`` (a tool's command line writing its result to ``json_path``) in ``node``,
    its output in ``workdir/STEM.log`` and its result in ``workdir/STEM.json``."""
    run = launch(lab, node, argv, label=kind, workdir=workdir, stem=stem)
    return RunningProbe(run.label, run.node, run.process, run.json_path, run.log_path, options, limit)
