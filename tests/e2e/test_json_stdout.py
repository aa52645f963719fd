"""``--json`` in a real lab: ``natsim run --json [--compare]`` and ``natsim lab --json --run`` print one
JSON document on stdout; progress, the report line and every other human message go to stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tiny import TINY

pytestmark = [pytest.mark.natsim_netns, pytest.mark.e2e]
NATSIM = [sys.executable, "-m", "natsim.cli"]


def natsim(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NATSIM, *args], capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.parametrize("compare", [False, True])
def test_run_json_is_one_document_on_stdout(compare: bool, tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(TINY)
    out = tmp_path / "out"
    done = natsim("run", str(tmp_path / "tiny.yaml"), "--out", str(out), "--json",
                  *(["--compare"] if compare else []))
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(done.stdout)
    saved = json.loads((out / "result.json").read_text())
    assert {k: v for k, v in data.items() if k != "comparison"} == saved
    assert [c["verdict"] for c in data["probes"][0]["connections"]] == ["alive", "dead", "dead"]
    assert f"report: {out}/summary.txt" in done.stderr
    assert "[natsim] tiny: lab" in done.stderr  # progress
    if compare:
        rows = data["comparison"]
        assert [(r["probe"], r["index"], r["observed"], r["agrees"]) for r in rows] == [
            ("send", 0, "alive", True), ("send", 1, "dead", True), ("send", 2, "dead", True)]
        assert " connections agree" not in done.stdout + done.stderr
    else:
        assert "comparison" not in data


def test_lab_json_with_run_is_the_map_and_the_runs() -> None:
    done = natsim("lab", "home-nat", "--json", "--run", "client echo hello", "--run", "server false")
    assert done.returncode == 1, done.stdout + done.stderr
    data = json.loads(done.stdout)
    assert data["topology"] == "home-nat"
    assert {n["name"] for n in data["nodes"]} >= {"client", "router", "server"}
    assert [(r["node"], r["command"], r["exit_code"]) for r in data["runs"]] == [
        ("client", "echo hello", 0), ("server", "false", 1)]
    assert data["runs"][0]["output"].strip() == "hello"
