"""A probe that could not run fails the run: a driver exception of any type, a tool that exits non-zero,
a result with nothing measured. The run is incomplete, ``natsim run`` exits 3 and summary.txt names each
failed probe with its error and its log. The runner is driven with a stand-in lab (no root needed): what
is tested is how it treats its probes, not the lab."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any, ClassVar

import pytest

from natsim.cli import main
from natsim.errors import EXIT_PROBE_FAILED, ProbeError
from natsim.probes.registry import kind as real_kind
from natsim.probes.tally import Tally
from natsim.report.schema import ConnectionResult, ProbeResult, Verdict
from natsim.run import experiment
from natsim.scenario import load_scenario

SCENARIO = """topology: home-nat
time_scale: 60
captures: false
probes:
  - {name: fine, kind: tcp-send}
  - {name: crash, kind: tcp-send}
  - {name: tool, kind: tcp-send}
  - {name: empty, kind: tcp-send}
expect:
  fine: {all_alive: true}
"""


class _Lab:
    """Stands for the lab: a context manager with a map (for report.html) that creates the run's work
    directory as the lab does (once its record names it), and nothing else."""

    entered: ClassVar[list[tuple[Path, bool]]] = []   # (run_dir, whether it existed), at each __enter__

    def __init__(self, *args: Any, run_dir: Path | None = None, **kwargs: Any) -> None:
        self.run_dir = run_dir

    def __enter__(self) -> _Lab:
        assert self.run_dir is not None
        _Lab.entered.append((self.run_dir, self.run_dir.exists()))
        os.mkdir(self.run_dir, 0o700)
        return self

    def describe(self) -> dict[str, Any]:
        return {"lab_id": "stand-in", "topology": "home-nat", "time_scale": 60.0, "nodes": []}

    def __exit__(self, *exc: object) -> None:
        pass


class _Handle:
    def __init__(self, result: ProbeResult | None = None, error: Exception | None = None) -> None:
        self.result, self.error = result, error

    def wait(self, timeout: float | None = None) -> ProbeResult:
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result

    def stop(self) -> None:
        pass

    def progress(self) -> Tally:
        return Tally(len(self.result.connections) if self.result is not None else 0, None)


def _driver(ctx: Any, spec: Any) -> _Handle:
    if spec.name == "crash":   # what a 300-character name once did inside a driver thread
        raise OSError(errno.ENAMETOOLONG, "File name too long", "x" * 300)
    if spec.name == "tool":
        log = ctx.workdir / "client-send-tool.log"   # drivers write in the work directory, never in OUT
        log.write_text("Traceback (most recent call last):\n  ...\nValueError: the tool refused it\n")
        return _Handle(error=ProbeError(f"client: tcp-send exited 1: {log.read_text()}", log=log))
    if spec.name == "empty":
        return _Handle(ProbeResult(spec.name, spec.kind, "server"))
    return _Handle(ProbeResult(spec.name, spec.kind, "server",
                               connections=[ConnectionResult(0, 60.0, Verdict.ALIVE)]))


@pytest.fixture
def stand_in_lab(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace
    monkeypatch.setattr(experiment, "Lab", _Lab)
    monkeypatch.setattr(experiment, "probe_kind", lambda name: replace(real_kind(name), driver=_driver))
    monkeypatch.setattr("natsim.commands.run.require_lab_privileges", lambda what: None)


def test_every_kind_of_probe_failure_fails_the_run(stand_in_lab: None, tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    with open(tmp_path / "progress", "w") as progress:
        outcome = experiment.run_scenario(load_scenario(path), tmp_path / "out", progress_stream=progress)
    assert outcome.failed == ["crash", "tool", "empty"]
    assert outcome.exit_code == EXIT_PROBE_FAILED == 3 and not outcome.ok
    assert all(c.ok for c in outcome.checks)   # the expectation holds: the failures alone fail the run
    saved = json.loads((tmp_path / "out" / "result.json").read_text())
    assert saved["complete"] is False
    crash = saved["probes"][1]
    assert crash["complete"] is False and crash["extra"]["error"].startswith(
        "the tcp-send driver failed: OSError: [Errno 36] File name too long")
    assert "Traceback" in (tmp_path / "out" / "crash-error.log").read_text()
    summary = (tmp_path / "out" / "summary.txt").read_text().splitlines()
    assert summary[1] == "INCOMPLETE: 3 probes could not run (exit 3); below is what the others measured."
    assert summary[2].startswith("  FAILED crash (tcp-send): the tcp-send driver failed: OSError: "
                                 "[Errno 36] File name too long")
    assert summary[2].endswith(f" — log: {tmp_path / 'out' / 'crash-error.log'}")
    assert summary[3] == ("  FAILED tool (tcp-send): client: tcp-send exited 1: Traceback (most recent call "
                          "last): ... ValueError: the tool refused it — log: "
                          f"{tmp_path / 'out' / 'client-send-tool.log'}")
    assert summary[4] == "  FAILED empty (tcp-send): tcp-send measured nothing: its result has no connection"


def test_the_runs_work_directory_is_the_labs_to_create_and_the_runs_to_remove(
        stand_in_lab: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run names its work directory to the lab, which creates it once its record names it (a run
    killed before that leaves nothing unrecorded in $TMPDIR); the run removes it at the end."""
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setattr("tempfile.tempdir", None)
    (tmp_path / "tmp").mkdir()
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    _Lab.entered.clear()
    with open(tmp_path / "progress", "w") as progress:
        experiment.run_scenario(load_scenario(path), tmp_path / "out", progress_stream=progress)
    [(run_dir, existed)] = _Lab.entered
    assert not existed and run_dir.parent == tmp_path / "tmp" and run_dir.name.startswith("natsim-run-")
    assert list((tmp_path / "tmp").iterdir()) == []
    assert (tmp_path / "out" / "client-send-tool.log").exists()   # its logs were kept first


def test_natsim_run_exits_3_and_prints_the_failures(stand_in_lab: None, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    assert main(["-q", "run", str(path), "--out", str(tmp_path / "out")]) == 3
    out = capsys.readouterr().out
    assert out.count("  FAILED ") == 3 and "FAILED crash (tcp-send)" in out
    assert main(["-q", "run", str(path), "--out", str(tmp_path / "json"), "--json"]) == 3


def test_natsim_run_html_shows_an_incomplete_run(stand_in_lab: None, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """``--html``: report.html is written beside summary.txt and says which probes could not run."""
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    out = tmp_path / "out"
    assert main(["-q", "run", str(path), "--out", str(out), "--html"]) == 3
    assert capsys.readouterr().out.rstrip().endswith(f"{out}/survival.png, {out}/report.html")
    page = (out / "report.html").read_text()
    assert "incomplete: crash, tool, empty could not run (exit 3)" in page
    assert "the tcp-send driver failed: OSError: [Errno 36] File name too long" in page
    assert "No capture: the scenario says captures: false" in page
