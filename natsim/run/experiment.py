"""``natsim run``: bring a scenario's lab up, run its probes as declared, capture, report, check.

The runner knows probes only through the probe registry: a kind's driver starts the servers it needs
and the probe, returning a handle whose ``wait()`` gives a :class:`ProbeResult`. Results are written
in the schema the model uses (``result.json``), with ``summary.txt`` and ``survival.png``.

The output directory is written only through :mod:`natsim.outfiles` (never through a link, one run
at a time, under sudo what natsim creates there is the user's). Probes, servers and middlebox
daemons write into a private work directory instead; their logs are copied over when the run ends.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from natsim.endpoint import apply_endpoint
from natsim.errors import EXIT_CHECK_FAILED, EXIT_OK, EXIT_PROBE_FAILED, NatsimError, ProbeError
from natsim.expect import Check, check_expectations
from natsim.extras import missing_extra
from natsim.lab.home import remove_private_dir
from natsim.lab.lab import Lab
from natsim.lab.userns_support import private_run
from natsim.middleboxes import kind as middlebox_kind
from natsim.middleboxes.presets import used
from natsim.outfiles import OutputDir, write_file
from natsim.paths import check_name, inside
from natsim.probes.command.options import CommandOptions
from natsim.probes.driver_context import DriverContext
from natsim.probes.registry import Handle, PartialResults
from natsim.probes.registry import kind as probe_kind
from natsim.probes.registry import kinds as probe_kinds
from natsim.probes.tally import Tally
from natsim.report.plot import survival_png
from natsim.report.schema import ProbeResult, RunResult, estimate_timeout
from natsim.report.summary import format_summary
from natsim.run.progress import Progress
from natsim.scenario import ProbeSpec, Scenario
from natsim.scenario_scaling import check_lab_scale
from natsim.units import format_duration

# ---- the run -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProbeFailure:
    """Why a probe has no result: what went wrong (one or more lines) and the file holding its output
    or traceback, when there is one."""

    error: str
    log: Path | None = None


@dataclass
class RunOutcome:
    """What ``run_scenario`` produced."""

    result: RunResult
    checks: list[Check]
    out: Path
    interrupted: bool = False
    summary: str = ""          # what summary.txt holds (formatted once)
    failed: list[str] = field(default_factory=list)   # probes that could not run
    lab_map: dict[str, Any] | None = None   # the lab's map (``Lab.describe()``) once it was up

    @property
    def ok(self) -> bool:
        """All expectations hold and the run completed."""
        return self.result.complete and all(c.ok for c in self.checks)

    @property
    def exit_code(self) -> int:
        """The command's exit code: a probe that could not run (3) before a failed expectation (1)."""
        if self.failed:
            return EXIT_PROBE_FAILED
        return EXIT_OK if self.ok else EXIT_CHECK_FAILED


class ReportWriter(Protocol):
    """A further file a run writes in its output directory once result.json and summary.txt are
    written (``report.html``, see :mod:`natsim.analysis.run_report`): ``name`` is refused as a link
    before the lab starts; a writer that cannot render leaves a note in result.json, never loses the
    result."""

    @property
    def name(self) -> str:
        """The file's name in the output directory."""
        ...

    def render(self, outcome: RunOutcome, scenario: Scenario, out: Path) -> str:
        """The file's text; ``out``: the output directory, whose other files are written."""
        ...


def plot_timeouts(scenario: Scenario) -> dict[str, float]:
    """A line on the survival plot per idle timeout a middlebox's kind says is worth drawing."""
    return {f"{node} idle {format_duration(idle)}": idle for node, config in scenario.middleboxes.items()
            for idle in middlebox_kind(config.kind).idle_timeouts(config)}


#: What ``natsim run`` writes directly in its output directory (a link at one of these names is
#: refused before the lab starts).
REPORT_NAMES = ("result.json", "summary.txt", "survival.png", "pcap")
#: Files of the private work directory copied into the output directory when the run ends.
KEPT_SUFFIXES = (".log", ".out")


def write_outputs(outcome: RunOutcome, scenario: Scenario, out: OutputDir,
                  writers: Sequence[ReportWriter] = ()) -> None:
    """result.json, summary.txt, survival.png in the output directory, then each of ``writers``."""
    out.write_text("result.json", outcome.result.to_json())
    outcome.summary = format_summary(outcome.result, outcome.checks)
    out.write_text("summary.txt", outcome.summary)
    try:
        png = survival_png(outcome.result, plot_timeouts(scenario))
    except Exception as err:  # a plot must never lose the measured result
        why = (missing_extra(err) if isinstance(err, ModuleNotFoundError) else None) or str(err)
        outcome.result.notes.append(f"survival.png not written: {why}")
        out.write_text("result.json", outcome.result.to_json())
    else:
        out.write_bytes("survival.png", png)
    for writer in writers:
        try:
            text = writer.render(outcome, scenario, out.path)
        except Exception as err:  # an extra report must never lose the measured result
            why = (missing_extra(err) if isinstance(err, ModuleNotFoundError) else None) or str(err)
            outcome.result.notes.append(f"{writer.name} not written: {type(err).__name__}: {why}")
            out.write_text("result.json", outcome.result.to_json())
        else:
            out.write_text(writer.name, text)


def _probes(scenario: Scenario, extra: Mapping[str, tuple[str, str]]) -> list[ProbeSpec]:
    """The scenario's probes plus the ``extra`` command probes, each checked before anything starts."""
    probes = list(scenario.probes)
    for name, (node, command) in extra.items():
        probes.append(ProbeSpec(name=name, kind=CommandOptions.kind, client=node, server=node,
                                options=CommandOptions(argv=command)))
    for spec in probes:
        check_name(spec.name, "probe name")
        if spec.kind not in probe_kinds():
            raise ProbeError(f"probe {spec.name}: kind {spec.kind} cannot run in the lab yet")
        check_lab_scale(spec.name, probe_kind(spec.kind), scenario.time_scale, spec.options)
    return probes


def run_scenario(scenario: Scenario, out: Path, *, extra: Mapping[str, tuple[str, str]] | None = None,
                 progress_stream: Any = None, writers: Sequence[ReportWriter] = ()) -> RunOutcome:
    """Run ``scenario`` in a lab, write the outputs in ``out``, check the expectations.

    ``extra`` adds command probes (name → (node, command)), as ``--probe-cmd`` does (explicit, so
    trusted; a name must be usable as a file name, see :mod:`natsim.paths`). ``out`` is refused
    (:class:`~natsim.errors.OutputError`) while another natsim writes it, or when it or a report name
    in it is a symbolic link. On Ctrl-C or SIGTERM the probes are stopped, what was measured is
    written, and the exception propagates. ``writers`` write further files once the result is
    written (``natsim run --html``: :class:`natsim.analysis.run_report.HtmlWriter`).
    """
    probes = _probes(scenario, extra or {})
    with OutputDir.open(out, for_user=True) as directory:
        directory.lock()
        directory.refuse_links((*REPORT_NAMES, *(writer.name for writer in writers)))
        with run_scratch() as scratch:
            outcome = RunOutcome(RunResult(source="lab", time_scale=scenario.time_scale.factor,
                                           scenario=scenario.name, started=time.time(),
                                           presets=used(scenario.middleboxes),
                                           unscaled=[r.describe() for r in scenario.rounded]), [], out)
            try:
                _run_lab(scenario, probes, outcome, directory, scratch, progress_stream, writers)
            finally:
                if scratch.is_dir():
                    directory.copy_files(scratch, KEPT_SUFFIXES)
    return outcome


@contextmanager
def run_scratch() -> Iterator[Path]:
    """The path of the run's work directory, removed at the end. The lab creates it once its record names
    it (:class:`~natsim.lab.lab.Lab`'s ``run_dir``): a run killed at any moment leaves it to ``natsim
    cleanup``, never unrecorded in ``$TMPDIR``. Inside natsim's own namespaces it is on their private
    /run, gone with them."""
    base = private_run() or Path(tempfile.gettempdir())
    path = base / f"natsim-run-{secrets.token_hex(6)}"
    try:
        yield path
    finally:
        remove_private_dir(str(path))


def _run_lab(scenario: Scenario, probes: list[ProbeSpec], outcome: RunOutcome, out: OutputDir,
             workdir: Path, progress_stream: Any, writers: Sequence[ReportWriter]) -> None:
    """Bring the lab up, capture, run the probes; the outputs are written whatever happens."""
    result = outcome.result
    results: dict[str, ProbeResult] = {}
    errors: dict[str, ProbeFailure] = {}
    handles: dict[str, Handle] = {}
    try:
        with Lab(scenario.topology_ref or scenario.topology, scenario.middleboxes,
                 time_scale=scenario.time_scale, workdir=workdir / "lab", seed=scenario.seed,
                 run_dir=workdir,   # as root, `natsim cleanup` removes it with the lab if this run is killed
                 loaded=(scenario.topology, scenario.topo) if scenario.topo is not None else None) as lab:
            outcome.lab_map = lab.describe()
            ctx = DriverContext(lab, scenario, outcome.out, workdir)
            for node, endpoint in scenario.hosts.items():   # the hosts' own TCP settings, scaled
                result.unscaled.extend(apply_endpoint(lab, node, endpoint))
            capture = None
            if scenario.captures:
                from natsim.lab.capture import Capture
                capture = Capture(lab, out.subdir("pcap"))
                capture.start()
            try:
                with ctx.stack, Progress(scenario.name, scenario.time_scale, len(probes),
                                         lambda: _tallies(handles, results), progress_stream) as progress:
                    try:
                        _run_probes(ctx, probes, handles, results, errors, progress)
                    except BaseException:  # Ctrl-C, SIGTERM: stop the probes while the lab still runs
                        _stop_all(handles, results)
                        raise
            finally:
                if capture is not None:
                    capture.stop()
    except BaseException:
        outcome.interrupted = True
        result.complete = False
        raise
    finally:
        result.finished = time.time()
        _collect(result, probes, results, errors)
        outcome.failed = [spec.name for spec in probes if spec.name in errors]
        outcome.checks = check_expectations(result, scenario.expect)
        write_outputs(outcome, scenario, out, writers)


def _collect(result: RunResult, probes: list[ProbeSpec], results: dict[str, ProbeResult],
             errors: dict[str, ProbeFailure]) -> None:
    """Put every probe's result (or why it has none) into ``result``, in scenario order; a probe that
    could not run makes the run incomplete."""
    for spec in probes:
        if spec.name in results:
            probe = results[spec.name]
            probe.name = spec.name
            probe.node = spec.client
            if probe.estimate is None and probe.connections:
                probe.estimate = estimate_timeout(probe.connections)
            result.probes.append(probe)
            for timer in probe.extra.get("unscaled", []):
                if timer not in result.unscaled:
                    result.unscaled.append(timer)
        elif spec.name in errors:
            failure = errors[spec.name]
            result.probes.append(ProbeResult(name=spec.name, kind=spec.kind, target=spec.server,
                                             node=spec.client, complete=False,
                                             extra={"error": failure.error,
                                                    "log": str(failure.log) if failure.log else None}))
            result.notes.append(f"{spec.name}: {failure.error}")
            result.complete = False
        else:
            result.probes.append(ProbeResult(name=spec.name, kind=spec.kind, target=spec.server,
                                             node=spec.client, complete=False,
                                             extra={"unfinished": "stopped before it finished"}))


def _tallies(handles: dict[str, Handle], results: dict[str, ProbeResult]) -> list[Tally]:
    """Connections tested so far by every probe started: a finished one's result, a running one's
    :meth:`Handle.progress`."""
    tallies = []
    for name, handle in list(handles.items()):
        done = results.get(name)
        tallies.append(Tally(len(done.connections), len(done.connections)) if done is not None
                       else handle.progress())
    return tallies


def _stop_all(handles: dict[str, Handle], results: dict[str, ProbeResult]) -> None:
    """Stop unfinished probes and keep what each had measured."""
    for name, handle in handles.items():
        if name in results:
            continue
        try:
            handle.stop()
            measured = handle.partial() if isinstance(handle, PartialResults) else None
        except (NatsimError, OSError, ValueError):
            continue
        if measured is not None:
            results[name] = measured


def _in_report(ctx: DriverContext, log: Path | None) -> Path | None:
    """Where a log written in the run's work directory will be in the output directory (it is
    copied there when the run ends)."""
    if log is not None and log.is_relative_to(ctx.workdir):
        return ctx.out / log.relative_to(ctx.workdir)
    return log


def _crashed(ctx: DriverContext, spec: ProbeSpec, err: Exception) -> ProbeFailure:
    """A driver's unexpected exception: its traceback goes to ``OUT/NAME-error.log``."""
    log: Path | None = None
    try:
        text = "".join(traceback.format_exception(err))
        log = write_file(inside(ctx.workdir, f"{spec.name}-error.log"), text)
    except (OSError, NatsimError):
        log = None
    return ProbeFailure(f"the {spec.kind} driver failed: {type(err).__name__}: {err}", _in_report(ctx, log))


def _run_probes(ctx: DriverContext, probes: list[ProbeSpec], handles: dict[str, Handle],
                results: dict[str, ProbeResult], errors: dict[str, ProbeFailure], progress: Progress) -> None:
    """Start each probe at its offset, wait for all (threads block on the probe processes). A probe
    that fails in any way (an exception of any type, its tool exiting non-zero, an empty result) is
    recorded in ``errors``."""
    started = time.monotonic()
    lock = threading.Lock()

    def one(spec: ProbeSpec) -> None:
        delay = started + ctx.scenario.time_scale.to_lab(spec.start) - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        try:
            with lock:
                handles[spec.name] = probe_kind(spec.kind).driver(ctx, spec)
            measured = handles[spec.name].wait()
            if not measured.connections:
                raise ProbeError(f"{spec.kind} measured nothing: its result has no connection")
            results[spec.name] = measured
        except NatsimError as err:
            log = err.log if isinstance(err, ProbeError) else None
            errors[spec.name] = ProbeFailure(str(err), _in_report(ctx, log))
        except Exception as err:  # a driver's bug fails the run instead of vanishing in a thread
            errors[spec.name] = _crashed(ctx, spec, err)
        finally:
            progress.done += 1

    threads = [threading.Thread(target=one, args=(spec,), daemon=True) for spec in probes]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)  # short joins keep Ctrl-C and SIGTERM responsive
