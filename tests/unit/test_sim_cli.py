"""``natsim predict`` and ``natsim sweep`` on the shipped incident scenario; bad input exits 2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from natsim.cli import main
from natsim.commands.predict import parse_seed, render
from natsim.errors import ConfigError
from natsim.report.schema import ConnectionResult, ProbeResult, RunResult, Verdict
from natsim.run.predict import predict
from tests.unit.sim_scenarios import isp

pytest.importorskip("natsim.scenario")
SCENARIO = str(Path(__file__).resolve().parents[2] / "scenarios" / "isp-modem-bridge-1h.yaml")


def test_parse_seed() -> None:
    assert parse_seed("7") == 7
    with pytest.raises(ConfigError, match=r"--seed: expected a whole number, got '1\.5'"):
        parse_seed("1.5")


def test_render_shows_changes_and_unscaled_timers() -> None:
    text = render(predict(isp(connections=62)))
    assert "send (tcp-send -> server:31415): 59 alive, 3 dead" in text
    # durations as scenario files write them: 1h2m, not 3720 s
    assert re.search(r"\[   dead\] #59 idle       1h  at +\d+h\d+m(\d+s)?  connection 59", text)
    assert "TCP RTO" in text
    assert "model of the lab at time scale 60" in text


def test_render_real_world_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predict", SCENARIO, "--real-world"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "time scale 60" not in first
    assert "model of a real network" in first


def test_predict_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predict", SCENARIO, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["source"] == "model"
    send = next(p for p in data["probes"] if p["name"] == "send")
    verdicts = [c["verdict"] for c in send["connections"]]
    assert verdicts.index("dead") == 59
    assert send["connections"][59]["explanation"].startswith(
        "connection 59: idle 1h ≥ cpe established timeout 1h; outbound data segment dropped")


@pytest.mark.parametrize("argv", [
    ["predict", SCENARIO, "--seed", "abc"],
    ["sweep", SCENARIO, "--param", "cpe.idle_timeout=30m..3h:1m", "--max-points", "10", "--out", "X"],
    ["sweep", SCENARIO, "--param", "cpe.idle_timeout=0s..1h:30m", "--out", "X"],
    ["sweep", SCENARIO, "--param", "modem.idle_timeout=1h", "--out", "X"],
    ["sweep", SCENARIO, "--param", "cpe.idle_timeout=1h", "--seed", "x", "--out", "X"],
])
def test_bad_input_exits_2(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(tmp_path / "out") if a == "X" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("natsim: error: ") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_sweep_writes_csv_and_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sweep"
    assert main(["sweep", SCENARIO, "--param", "cpe.idle_timeout=30m..1h:30m", "--workers", "1",
                 "--out", str(out)]) == 0
    assert "2 points x 3 probes" in capsys.readouterr().out
    assert (out / "sweep.csv").read_text().count("\n") == 1 + 2 * 3
    assert (out / "sweep.png").stat().st_size > 1000


def test_render_shows_a_kinds_one_line_finding() -> None:
    """A probe whose result carries a one-line finding (nat-type: its NAT type) shows it under its
    verdict counts."""
    probe = ProbeResult(name="nat", kind="nat-type", target="203.0.113.10:3478", node="client",
                        connections=[ConnectionResult(0, 0.0, Verdict.OK, how="binding")],
                        extra={"summary": "endpoint-independent mapping, address-dependent filtering, "
                                          "hairpinning no (restricted cone)"})
    text = render(RunResult(source="model", scenario="s", probes=[probe]))
    assert "\n  found: endpoint-independent mapping, address-dependent filtering, hairpinning no " \
           "(restricted cone)\n" in text
