"""A user's own topology file (outside the repository) works with ``natsim run``, ``lab`` and
``conform`` once trusted; commands typed on the command line need no ``--trust``.
Refusals: tests/unit/test_trust_cli.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.user_topology import NAME, write_scenario, write_topology

pytestmark = pytest.mark.natsim_netns
NATSIM = [sys.executable, "-m", "natsim.cli"]


def natsim(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NATSIM, *args], capture_output=True, text=True, timeout=120, check=False, cwd=cwd)


def test_run_with_a_trusted_topology_file(tmp_path: Path) -> None:
    topo, marker = write_topology(tmp_path / "mine")
    write_scenario(tmp_path / "s.yaml", f"mine/{topo.name}:{NAME}")
    done = natsim("run", "s.yaml", "--trust", "--out", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert [c["verdict"] for c in result["probes"][0]["connections"]] == ["alive", "alive"]
    assert marker.exists()


def test_lab_with_a_trusted_topology_file(tmp_path: Path) -> None:
    topo, _ = write_topology(tmp_path / "mine")
    done = natsim("lab", str(topo), "--trust", "--run", "client ping -c 1 -W 2 server", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"topology {NAME}" in done.stdout and "1 received" in done.stdout


def test_conform_with_a_trusted_topology_file(tmp_path: Path) -> None:
    topo, _ = write_topology(tmp_path / "mine")
    done = natsim("conform", f"{topo}:{NAME}:router", "--only", "rfc5382-req1", "--trust", "--json",
                  cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    verdicts = json.loads(done.stdout)["verdicts"]
    assert [(v["requirement"], v["outcome"]) for v in verdicts] == [("rfc5382-req1", "PASS")]


def test_probe_cmd_on_the_command_line_needs_no_trust(tmp_path: Path) -> None:
    write_scenario(tmp_path / "s.yaml", "home-nat")
    done = natsim("run", "s.yaml", "--out", "out", "--probe-cmd", "client", "ping -c 1 -W 2 server",
                  cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 received" in (tmp_path / "out" / "probe-cmd-1.out").read_text()
