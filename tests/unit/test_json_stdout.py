"""``--json`` means one JSON document on stdout and nothing else there; human lines go to stderr.

``natsim run --json`` and ``natsim lab --json`` need a lab: tests/e2e/test_json_stdout.py runs them;
here, the piece of ``run`` that writes the document, fed a model result as the observation.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from natsim.cli import main
from natsim.commands.run import _print_json
from natsim.report.schema import Verdict
from natsim.run.predict import predict
from natsim.scenario import load_scenario
from tests.tiny import TINY

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = str(ROOT / "scenarios" / "isp-modem-bridge-1h.yaml")
PCAPS = ROOT / "tests" / "golden" / "pcaps"


def test_predict_json_is_alone_on_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predict", SCENARIO, "--json", "--out", str(tmp_path / "p.json")]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data == json.loads((tmp_path / "p.json").read_text())
    assert data["source"] == "model" and captured.err == ""


def test_analyze_json_is_alone_on_stdout_and_the_ladder_paths_go_to_stderr(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["analyze", str(PCAPS / "cpe-silent-drop"), "--json", "--ladder", "c1",
            "--out", str(tmp_path / "ladder")]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert [c["id"] for c in json.loads(captured.out)["connections"]] == ["c1"]
    assert captured.err.splitlines() == [str(tmp_path / "ladder.png"), str(tmp_path / "ladder.svg")]


def test_analyze_without_ladder_prints_json_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(PCAPS / "clean-close"), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["connections"] and captured.err == ""


@pytest.mark.parametrize(("compare", "flip", "code"), [(False, False, 0), (True, False, 0), (True, True, 1)])
def test_run_json_document(compare: bool, flip: bool, code: int, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    """result.json on stdout, with --compare a ``comparison`` list; the report line on stderr."""
    (tmp_path / "tiny.yaml").write_text(TINY)
    scenario = load_scenario(str(tmp_path / "tiny.yaml"))
    observed = replace(predict(scenario), source="lab")
    if flip:  # the lab saw connection 0 die: a disagreement
        observed.probes[0].connections[0] = replace(observed.probes[0].connections[0], verdict=Verdict.DEAD)
    assert _print_json(observed, scenario if compare else None, "report: DIR/summary.txt") == code
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert captured.err == "report: DIR/summary.txt\n"
    assert data["source"] == "lab"
    assert [c["verdict"] for c in data["probes"][0]["connections"]] == \
        ["dead" if flip else "alive", "dead", "dead"]
    if not compare:
        assert "comparison" not in data
        return
    rows = data["comparison"]
    assert [(r["probe"], r["index"], r["observed"], r["predicted"], r["agrees"]) for r in rows] == [
        ("send", 0, "dead" if flip else "alive", "alive", not flip),
        ("send", 1, "dead", "dead", True), ("send", 2, "dead", "dead", True)]
    assert {"idle", "uncertain", "explanation"} <= set(rows[0])
