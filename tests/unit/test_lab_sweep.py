"""natsim.run.lab_sweep without a lab: point names, and how finished points are collected (each one's
report written whole as it comes back, a failed point named and skipped, rows in the points' order)."""

from __future__ import annotations

import os
from concurrent.futures import Future
from pathlib import Path

from natsim.errors import LabError
from natsim.outfiles import OutputDir
from natsim.run.lab_sweep import RUNS, PointRun, collect, point_name
from natsim.run.sweep import parse_param
from tests.unit.sim_scenarios import isp


def _done(value: PointRun | Exception) -> Future[PointRun]:
    future: Future[PointRun] = Future()
    if isinstance(value, Exception):
        future.set_exception(value)
    else:
        future.set_result(value)
    return future


def test_point_names_are_numbered_readable_file_names() -> None:
    scenario = isp(connections=2, step=600.0, first=600.0)
    params = [parse_param("cpe.idle_timeout=30m,1h30m", scenario),
              parse_param("cpe.untracked_inbound=drop,pickup", scenario)]
    assert point_name(params, (5400.0, params[1].values[1]), 7) == \
        "007-cpe.idle_timeout=1h30m-cpe.untracked_inbound=pickup"


def test_collect_writes_each_report_whole_and_names_the_points_that_failed(tmp_path: Path) -> None:
    second = PointRun("002-b", [{"run": "002-b", "alive": 2}], {"result.json": b"{}", "pcap/x": b"p"}, 0)
    first = PointRun("001-a", [{"run": "001-a", "alive": 1}], {"result.json": b"{}"}, 1)
    futures = [_done(second), _done(LabError("no lab")), _done(first)]
    names = {futures[0]: "002-b", futures[1]: "003-c", futures[2]: "001-a"}
    lines: list[str] = []
    with OutputDir.open(tmp_path) as out:
        sweep = collect(futures, {f: names[f] for f in sorted(names, key=names.get)}, out, lines.append)
    assert sweep.failed == {"003-c": "LabError: no lab"}
    assert sorted(os.listdir(tmp_path / RUNS)) == ["001-a", "002-b"]      # nothing for the failed point
    assert (tmp_path / RUNS / "002-b" / "pcap" / "x").read_bytes() == b"p"
    assert [row["run"] for row in sweep.rows] == ["001-a", "002-b"]
    assert lines == ["point 002-b: done, exit 0 (1 of 3)", "point 003-c: failed: LabError: no lab",
                     "point 001-a: done, exit 1 (2 of 3)"]
