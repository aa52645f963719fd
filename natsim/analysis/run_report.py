"""``natsim run --html``: ``report.html`` beside ``summary.txt``, gathered from the whole run.

It shows the lab's map (nodes, middleboxes and their settings), the summary and expectations, the
survival plot, the model's verdicts beside the lab's, a ladder diagram of each dead connection
across every link with the drop marked at the middlebox that ate it (from the run's capture), and
the middleboxes' conntrack timeline (:mod:`natsim.analysis.timeline`). Rendering is
:mod:`natsim.report.html`'s; this module only collects. ``run_scenario`` writes the page
(:class:`HtmlWriter`) through the run's own output directory (:mod:`natsim.outfiles`: never through a
link).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from natsim.analysis.analyze import Analysis, analyze_directory
from natsim.analysis.ladder import ladder_figure
from natsim.analysis.segments import AnalysisError
from natsim.analysis.timeline import timeline_figure
from natsim.errors import EXIT_CHECK_FAILED, EXIT_OK, NatsimError
from natsim.expect import FAILED
from natsim.middleboxes import kind as middlebox_kind
from natsim.report.html import HtmlFigure, HtmlReport, render_html, svg_of
from natsim.report.plot import survival_figure
from natsim.run.experiment import RunOutcome, plot_timeouts
from natsim.scenario import Scenario
from natsim.units import format_duration

#: The page's name in the output directory.
HTML_NAME = "report.html"
#: At most this many ladders on one page; the others are named with the command that draws them.
MAX_LADDERS = 40


@dataclass(frozen=True)
class HtmlWriter:
    """``report.html`` of a run, written once its result is (``run_scenario(writers=…)`` writes it
    through the run's output directory)."""

    name: str = HTML_NAME

    def render(self, outcome: RunOutcome, scenario: Scenario, out: Path) -> str:
        """The page of ``outcome``, whose output directory is ``out``."""
        return render_html(build_report(outcome, scenario, out))


def status_of(outcome: RunOutcome) -> str:
    """One line: how the run went, as its exit code says."""
    if outcome.interrupted:
        return "interrupted: what was measured before the stop"
    if outcome.failed:
        return f"incomplete: {', '.join(outcome.failed)} could not run (exit 3)"
    held = sum(c.ok for c in outcome.checks)
    if outcome.exit_code == EXIT_OK:
        return f"every expectation holds ({held} of {len(outcome.checks)})"
    assert outcome.exit_code == EXIT_CHECK_FAILED
    return f"expectations failed: {held} of {len(outcome.checks)} hold"


def build_report(outcome: RunOutcome, scenario: Scenario, out: Path) -> HtmlReport:
    """The page's content for ``outcome``, whose output directory is ``out``."""
    result = outcome.result
    report = HtmlReport(scenario=scenario.name, time_scale=result.time_scale, status=status_of(outcome),
                        ok=outcome.ok, summary=outcome.summary, checks=outcome.checks,
                        lab_map=outcome.lab_map, notes=list(result.notes) + list(result.unscaled))
    if any(p.connections for p in result.probes):
        report.survival = HtmlFigure("survival-plot", "survival", svg_of(survival_figure(
            result, plot_timeouts(scenario))), "One dot per connection at the idle time it was tested "
            "with, coloured by its verdict; dashed lines: the middleboxes' idle timeouts.")
    _add_comparison(report, outcome, scenario)
    analysis = _analysis(report, scenario, out)
    if analysis is not None:
        _add_ladders(report, outcome, analysis)
        _add_timeline(report, scenario, analysis)
    return report


def _add_comparison(report: HtmlReport, outcome: RunOutcome, scenario: Scenario) -> None:
    from natsim.run.compare import all_agree, model_rows

    try:
        rows = model_rows(scenario, outcome.result)
    except NatsimError as err:
        report.comparison_note = f"The model could not predict this scenario: {err}"
        return
    report.comparison = [{**row.to_dict(), "idle_text": format_duration(row.idle)} for row in rows]
    agree = sum(row.agrees for row in rows)
    verdict = "" if all_agree(rows) else "; a disagreement is a bug in the lab or the model"
    report.comparison_note = (f"{agree} of {len(rows)} connections agree{verdict}. The model ran with "
                              "the scenario's own seed, as natsim predict does.")


def _analysis(report: HtmlReport, scenario: Scenario, out: Path) -> Analysis | None:
    """The run's capture analysed, or None (with a note on the page) when there is none."""
    missing = "No capture: the scenario says captures: false, so there is no ladder and no timeline."
    if scenario.captures:
        try:
            return analyze_directory(out / "pcap")
        except (AnalysisError, OSError) as err:
            missing = f"The capture could not be read: {err}"
    report.ladder_note = report.timeline_note = missing
    return None


def _add_ladders(report: HtmlReport, outcome: RunOutcome, analysis: Analysis) -> None:
    dead = [(probe.name, conn) for probe in outcome.result.probes for conn in
            sorted(probe.connections, key=lambda c: c.index) if conn.verdict in FAILED]
    absent = []
    for probe, conn in dead[:MAX_LADDERS]:
        try:
            found = analysis.connection(f"{probe} #{conn.index}")
        except AnalysisError:
            absent.append(f"{probe} {conn.name}")
            continue
        title = f"{probe} {conn.name}: {conn.verdict.value} after idle {format_duration(conn.idle)}"
        report.ladders.append(HtmlFigure(
            f"ladder-{probe}-{conn.index}", title, svg_of(ladder_figure(analysis, found.id)),
            f"{analysis.name(found)}: {found.outcome}. One lane per node, one row per packet; "
            "a red ✕ marks the middlebox where a packet was lost."))
    notes = [f"{len(dead)} dead connection{'s' if len(dead) != 1 else ''} (dead, reset, eof or error)."]
    if len(dead) > MAX_LADDERS:
        notes.append(f"The first {MAX_LADDERS} are drawn; natsim analyze DIR/pcap --ladder "
                     "'PROBE #N' draws any other.")
    if absent:
        notes.append(f"Not in the capture: {', '.join(absent)}.")
    report.ladder_note = " ".join(notes)


def _add_timeline(report: HtmlReport, scenario: Scenario, analysis: Analysis) -> None:
    timeouts: dict[str, float] = {}
    for node, config in scenario.middleboxes.items():
        idles = middlebox_kind(config.kind).idle_timeouts(config)
        if idles:
            timeouts[node] = idles[0]
    fig = timeline_figure(analysis, timeouts)
    if fig is None:
        report.timeline_note = "No captured connection crossed a middlebox that tracks connections."
        return
    report.timeline = HtmlFigure("conntrack-timeline", "conntrack timeline", svg_of(fig),
                                 "Per middlebox, one row per connection: while its entry lived (bar), the "
                                 "packets that crossed (dots), where its entry expired (|) and the packets "
                                 "lost there (red ✕).")
    report.timeline_note = ("Inferred from the packets the capture saw cross each middlebox and its "
                            "established idle timeout; the kernel's own table is not read.")
