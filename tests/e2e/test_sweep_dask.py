"""``natsim sweep --lab --scheduler``: a sweep's lab runs on the workers of a local Dask cluster of two,
one of which is killed while its lab runs: its point is run again, every report comes back whole, and
the killed worker's lab is gone with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from natsim.outfiles import OutputDir
from natsim.report.schema import RunResult
from natsim.run.cluster import local_cluster
from natsim.run.lab_sweep import LOG_NAME, RUNS, run_on_cluster
from natsim.run.predict import predict
from natsim.run.sweep import apply, grid, parse_param
from natsim.scenario import load_scenario

pytestmark = [pytest.mark.natsim_netns, pytest.mark.e2e]
SHORT = Path(__file__).with_name("short") / "home-nat-sweep.yaml"
NATSIM = [sys.executable, "-m", "natsim.cli"]


def _lab_processes(pid: int) -> list[psutil.Process]:
    """The worker's processes running a point's lab (the lab_point child and everything under it)."""
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _kill_a_worker_mid_run(address: str, killed: dict[str, Any]) -> None:
    """Once a worker's lab has run for 2 s, SIGKILL that worker process; note what it ran."""
    # imported here: 0.8 s, which every xdist worker's collection paid at the top of the module
    from dask.distributed import Client

    with Client(address) as client:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            busy = {w: keys for w, keys in client.processing().items() if keys}
            pids = client.run(os.getpid, workers=list(busy)) if busy else {}
            running = {w: _lab_processes(pid) for w, pid in pids.items()}
            ready = [w for w, procs in running.items() if procs]
            if ready:
                time.sleep(2.0)          # the lab is up and its probe running
                worker = ready[0]
                killed.update(worker=worker, children=_lab_processes(pids[worker]))
                os.kill(pids[worker], signal.SIGKILL)
                return
            time.sleep(0.2)


def test_lab_sweep_on_two_workers_survives_losing_one(tmp_path: Path) -> None:
    scenario = load_scenario(SHORT, trust=True)
    params = [parse_param("router.idle_timeout=1m,2m", scenario)]
    points = grid(params)
    killed: dict[str, Any] = {}
    with local_cluster(2) as cluster, OutputDir.open(tmp_path / "out") as out:
        killer = threading.Thread(target=_kill_a_worker_mid_run, args=(cluster.scheduler_address, killed))
        killer.start()
        sweep = run_on_cluster(scenario, params, points, out, address=cluster.scheduler_address)
        killer.join()
        started = cluster.scheduler.task_prefixes["run_lab_point"].state_counts["processing"]
    assert killed, "no worker was killed mid-run"
    assert started > len(points)                           # the lost worker's point was run again
    for child in killed["children"]:                        # its lab went with it
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    assert sweep.failed == {}
    runs = tmp_path / "out" / RUNS
    assert sorted(os.listdir(runs)) == sorted(sweep.written) == [
        "001-router.idle_timeout=1m", "002-router.idle_timeout=2m"]   # no half-written directory
    verdicts = {}
    for name, path in sweep.written.items():
        assert {"result.json", "summary.txt", "survival.png", LOG_NAME} <= set(os.listdir(path))
        result = RunResult.load(path / "result.json")
        assert result.complete and result.source == "lab"
        verdicts[name] = [c.verdict.value for c in result.probes[0].connections]
    assert verdicts == {"001-router.idle_timeout=1m": ["alive", "dead"],
                        "002-router.idle_timeout=2m": ["alive", "alive"]}
    model = [predict(apply(scenario, params, point)).probes[0] for point in points]
    predicted = {name: [c.verdict.value for c in probe.connections]
                 for name, probe in zip(sorted(sweep.written), model, strict=True)}
    assert predicted == verdicts                            # and the model agrees, point by point
    assert [row["run"] for row in sweep.rows] == sorted(sweep.written)


def test_the_command_writes_the_table_and_a_report_per_point(tmp_path: Path) -> None:
    done = subprocess.run([*NATSIM, "sweep", str(SHORT), "--param", "router.idle_timeout=1m",
                           "--lab", "--scheduler", "local", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert "1 alive, 1 dead" in done.stdout and "a report per point" in done.stdout
    assert sorted(os.listdir(tmp_path)) == ["runs", "sweep.csv", "sweep.png"]
    assert (tmp_path / RUNS / "001-router.idle_timeout=1m" / "summary.txt").exists()
