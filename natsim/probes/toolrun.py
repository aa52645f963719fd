"""One natsim tool in a lab node, and the services tools talk to: the pieces every probe family's lab driver
shares.

A tool runs through the lab's ``popen`` (:class:`natsim.labview.RunningLab`), so it lives in the node's
namespaces and stops with the lab; its output goes to a log and its result to a JSON file in natsim's
result schema (:class:`ToolRun`). A service (``natsim serve`` with some of its servers) is started and
waited for until it listens (:func:`start_service`).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from natsim.errors import LabError, ProbeError
from natsim.labview import NodeProcess, RunningLab
from natsim.outfiles import open_new
from natsim.paths import inside
from natsim.report.schema import ProbeResult, RunResult

#: How much of a failed tool's log its error quotes.
LOG_TAIL = 800


def progress_path(json_path: Path) -> Path:
    """Where the tool writing ``json_path`` reports its progress (``--progress``)."""
    return json_path.with_suffix(".progress")


@dataclass
class ToolRun:
    """A tool started in ``node``: its process, where it writes its result and its output. ``label``
    names it in messages (its probe kind)."""

    label: str
    node: str
    process: NodeProcess
    json_path: Path
    log_path: Path

    def result(self, limit: float) -> ProbeResult:
        """Its result once it ends within ``limit`` wall seconds (stopped after that);
        :class:`ProbeError` with its log's tail when it timed out, failed or wrote nothing."""
        try:
            code = self.process.popen.wait(timeout=limit)
        except subprocess.TimeoutExpired as err:
            self.process.stop()
            # its output: log= (a run names where the log is kept, see natsim.run.experiment)
            raise ProbeError(f"{self.node}: {self.label} did not finish within {limit:.0f} s",
                             log=self.log_path) from err
        if code != 0 or not self.json_path.exists():
            tail = self.lines[-LOG_TAIL:]
            raise ProbeError(f"{self.node}: {self.label} exited {code}: {tail.strip()}", log=self.log_path)
        return RunResult.load(self.json_path).probes[0]

    def partial(self) -> ProbeResult | None:
        """What a stopped tool wrote before it exited (marked incomplete), or None."""
        if not self.json_path.exists():
            return None
        probe = RunResult.load(self.json_path).probes[0]
        probe.complete = False
        return probe

    def stop(self) -> None:
        """SIGTERM: the tool writes what it measured."""
        self.process.stop(grace=3.0)

    @property
    def lines(self) -> str:
        """What the tool printed."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def launch(lab: RunningLab, node: str, argv: Callable[[Path], list[str]], *, label: str, workdir: Path,
           stem: str) -> ToolRun:
    """Start ``argv(json_path)`` (a tool's command line writing its result to ``json_path``) in ``node``,
    its output in ``workdir/STEM.log`` and its result in ``workdir/STEM.json`` (a stale one removed)."""
    json_path, log_path = inside(workdir, f"{stem}.json"), inside(workdir, f"{stem}.log")
    json_path.unlink(missing_ok=True)
    with open_new(log_path) as log:
        proc = lab.popen(node, argv(json_path), stdout=log, stderr=subprocess.STDOUT)
    return ToolRun(label, node, proc, json_path, log_path)


def start_service(lab: RunningLab, node: str, argv: list[str], *, what: str, ports: Sequence[tuple[int, str]],
                  log: Path | None, ready_timeout: float = 10.0) -> NodeProcess:
    """Start ``argv`` (a server, ``what`` in messages) in ``node``, its output in ``log`` (None: discarded);
    return once it listens on every ``(port, transport)`` of ``ports``, in order. :class:`ProbeError`
    (the server stopped) when it does not within ``ready_timeout`` seconds each."""
    out: IO[Any] | int = open_new(log) if log is not None else subprocess.DEVNULL
    try:
        proc = lab.popen(node, argv, stdout=out, stderr=out)
    finally:
        if not isinstance(out, int):
            out.close()
    try:
        for port, transport in ports:
            lab.wait_port(node, port, proc, timeout=ready_timeout, log=log, transport=transport)
    except LabError as err:
        proc.stop()
        raise ProbeError(f"the {what} did not start: {err}") from err
    return proc
