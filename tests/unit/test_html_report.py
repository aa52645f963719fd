"""``report.html`` (``natsim run --html``) from a known capture, without a lab: what the page holds,
that it fetches nothing, and that a real browser shows its ladder and logs no error."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from natsim.analysis import analyze_directory
from natsim.analysis.run_report import HtmlWriter, build_report, status_of
from natsim.analysis.timeline import timelines
from natsim.errors import OutputError
from natsim.expect import check_expectations
from natsim.outfiles import OutputDir
from natsim.report.html import render_html
from natsim.report.schema import ConnectionResult, ProbeResult, RunResult, Verdict
from natsim.report.summary import format_summary
from natsim.run.experiment import RunOutcome, write_outputs
from natsim.scenario import Scenario, load_scenario
from tests.browser import open_in_browser

PCAPS = Path(__file__).parents[1] / "golden" / "pcaps"
#: The settings tests/golden/make_pcaps.py made the cgn-reset capture with.
SCENARIO = """name: cgn-reset-html
topology: isp-bridge-cgn
time_scale: 60
middleboxes:
  cpe: {idle_timeout: 1d}
  cgn: {idle_timeout: 2m, untracked_inbound: reset}
probes:
  - {name: send, kind: tcp-recv, options: {connections: 1, first: 3m}}
expect:
  send: {verdicts: [dead]}
"""
LAB_MAP = {"lab_id": "abc123", "topology": "isp-bridge-cgn", "time_scale": 60.0, "nodes": [
    {"name": "client", "role": "host", "interfaces": [{"name": "client-eth0", "ip": "100.64.1.10",
                                                       "prefix": 24}]},
    {"name": "cgn", "role": "cgn", "interfaces": [], "settings": [["idle_timeout", "2m"]],
     "kernel_timeouts": ["established 2s"], "notes": []}]}


@pytest.fixture
def run(tmp_path: Path) -> tuple[RunOutcome, Scenario, Path]:
    """The cgn-reset capture as a run's output directory, with the result the probe would write."""
    out = tmp_path / "out"
    shutil.copytree(PCAPS / "cgn-reset", out / "pcap")
    local, target = analyze_directory(out / "pcap").connections[0].connection.endpoints["cpe-eth0"]
    (tmp_path / "s.yaml").write_text(SCENARIO)
    scenario = load_scenario(tmp_path / "s.yaml")
    conn = ConnectionResult(index=0, idle=180.0, verdict=Verdict.DEAD, how="read", local=local)
    result = RunResult(source="lab", time_scale=60.0, scenario=scenario.name, probes=[
        ProbeResult(name="send", kind="tcp-recv", target=target, node="client", connections=[conn])])
    (out / "result.json").write_text(result.to_json())
    checks = check_expectations(result, scenario.expect)
    outcome = RunOutcome(result, checks, out, summary=format_summary(result, checks), lab_map=LAB_MAP)
    return outcome, scenario, out


def test_timeline_follows_the_entries_the_policy_implies() -> None:
    """cgn-reset: the CGN's 2 min entry expires 2 min after the handshake; the late segment dies
    there (it answers with an RST); the CPE's 1 d entry lives until the connection closes. A
    retransmission's delay is TCP's timer, which the lab does not scale: 0.2 s, not 12 s."""
    found = timelines(analyze_directory(PCAPS / "cgn-reset"), {"cpe": 86400.0, "cgn": 120.0})
    [cgn] = found["cgn"]
    assert [(round(a), round(b), how) for a, b, how in cgn.spans] == [(0, 120, "expired")]
    assert [(c.what, round(c.time)) for c in cgn.crossings][-4:] == [
        ("lost", 180), ("sent", 180), ("lost", 300), ("lost", 301)]   # the FIN's retry: 0.2 s later
    [cpe] = found["cpe"]
    assert [(round(a), round(b), how) for a, b, how in cpe.spans] == [(0, 301, "closed")]


def test_page_holds_every_part_and_fetches_nothing(run: tuple[RunOutcome, Scenario, Path]) -> None:
    outcome, scenario, out = run
    report = build_report(outcome, scenario, out)
    assert report.status == "every expectation holds (1 of 1)"
    assert [fig.anchor for fig in report.ladders] == ["ladder-send-0"]
    assert report.ladders[0].title == "send #0: dead after idle 3m"
    assert report.timeline is not None and report.survival is not None
    assert [(row["observed"], row["predicted"]) for row in report.comparison] == [("dead", "dead")]
    page = render_html(report)
    for part in ("lab map", "Summary and expectations", "lab vs model", "Ladder diagrams",
                 "conntrack timeline", "lost at cgn", "idle_timeout = 2m", "established 2s"):
        assert part in page, part
    # self-contained: no element loads anything (the only URLs are SVG's XML namespaces)
    assert not re.search(r"<(script|link|img|iframe|object)\b", page)
    assert not re.search(r"\b(src|href)=\"(?!#)", page)
    assert set(re.findall(r"https?://[^\"' )<]+", page)) <= {
        "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink", "http://purl.org/dc/elements/1.1/",
        "http://creativecommons.org/ns#", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"}


def test_names_are_escaped(run: tuple[RunOutcome, Scenario, Path]) -> None:
    outcome, scenario, out = run
    outcome.result.notes.append("<script>alert(1)</script>")
    page = render_html(build_report(outcome, scenario, out))
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_run_writes_the_page_through_its_output_directory(run: tuple[RunOutcome, Scenario, Path],
                                                          tmp_path: Path) -> None:
    outcome, scenario, out = run
    (tmp_path / "elsewhere").write_text("not natsim's\n")
    (out / "report.html").symlink_to(tmp_path / "elsewhere")
    with OutputDir.open(out) as directory, pytest.raises(OutputError, match="is a symbolic link"):
        write_outputs(outcome, scenario, directory, [HtmlWriter()])
    assert (tmp_path / "elsewhere").read_text() == "not natsim's\n"
    (out / "report.html").unlink()
    with OutputDir.open(out) as directory:
        write_outputs(outcome, scenario, directory, [HtmlWriter()])
    assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")


@dataclass(frozen=True)
class _Unrenderable:
    name: str = "report.html"

    def render(self, outcome: RunOutcome, scenario: Scenario, out: Path) -> str:
        raise ModuleNotFoundError("No module named 'jinja2'", name="jinja2")


def test_a_page_that_cannot_be_made_never_loses_the_result(run: tuple[RunOutcome, Scenario, Path]) -> None:
    outcome, scenario, out = run
    with OutputDir.open(out) as directory:
        write_outputs(outcome, scenario, directory, [_Unrenderable()])
    assert not (out / "report.html").exists()
    notes = RunResult.load(out / "result.json").notes
    assert notes == ["report.html not written: ModuleNotFoundError: this needs natsim's optional 'plots' "
                     "part (module jinja2 is not installed): pip install 'natsim[plots]'"]


def test_browser_shows_the_ladder(run: tuple[RunOutcome, Scenario, Path]) -> None:
    outcome, scenario, out = run
    with OutputDir.open(out) as directory:
        write_outputs(outcome, scenario, directory, [HtmlWriter()])
    with open_in_browser(out / "report.html") as opened:
        ladder = opened.page.locator("#ladder-send-0 svg")
        assert ladder.is_visible()
        box = ladder.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 200
        assert opened.page.locator("#ladder-send-0").get_by_text("lost at cgn").first.is_visible()
        assert opened.page.locator("#conntrack svg").is_visible()
        assert opened.page.locator("#status").inner_text() == "every expectation holds (1 of 1)"
        opened.screenshot("html-report-cgn-reset")
        assert opened.console_errors == []
        assert opened.requests == [(out / "report.html").resolve().as_uri()]


def test_without_a_capture_the_page_says_so(run: tuple[RunOutcome, Scenario, Path], tmp_path: Path) -> None:
    outcome, _, out = run
    (tmp_path / "nocap.yaml").write_text(SCENARIO.replace("time_scale: 60",
                                                          "time_scale: 60\ncaptures: false"))
    report = build_report(outcome, load_scenario(tmp_path / "nocap.yaml"), out)
    assert report.ladders == [] and report.timeline is None
    assert report.ladder_note == report.timeline_note == (
        "No capture: the scenario says captures: false, so there is no ladder and no timeline.")


def test_status_line_follows_the_exit_status(run: tuple[RunOutcome, Scenario, Path]) -> None:
    outcome, _, _ = run
    assert status_of(outcome) == "every expectation holds (1 of 1)"
    outcome.checks[0] = replace(outcome.checks[0], ok=False)
    assert status_of(outcome) == "expectations failed: 0 of 1 hold"
    outcome.failed = ["send"]
    assert status_of(outcome) == "incomplete: send could not run (exit 3)"
    outcome.interrupted = True
    assert status_of(outcome) == "interrupted: what was measured before the stop"
