"""Sweeps in the lab: every point is a lab run, here or on the workers of a Dask cluster.

A worker runs a point as ``natsim run`` would (:mod:`natsim.run.lab_point`, a process of its own in
natsim's own namespaces, which sends its report back through a pipe: nothing is written on the
worker), and returns the whole report: the rows
:func:`natsim.run.sweep.summarise` gives for its result, and every file the run wrote. The caller
writes each point's files as ``OUT/runs/NAME/`` in one step (:meth:`natsim.outfiles.OutputDir.write_tree`)
as soon as the point is back, so a report there is always whole. A worker lost mid-run returns
nothing: Dask gives its points to another worker (up to ``distributed.scheduler.allowed-failures``
times, default 3) and they are run again from the start.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from natsim.errors import LabError
from natsim.outfiles import OutputDir
from natsim.report.schema import RunResult
from natsim.report.sweep_report import plain, value_label
from natsim.run.lab_point import Report
from natsim.run.sweep import apply, summarise
from natsim.run.sweep_params import Param

#: The sub-directory of a sweep's output directory that holds one report per point.
RUNS = "runs"
#: The log of a point's run (what natsim printed on stdout and stderr) in its report.
LOG_NAME = "natsim.log"


@dataclass(frozen=True)
class PointRun:
    """One point's lab run: its name (its directory under ``runs/``), its rows, its report's files
    (relative path → content) and the run's exit code (as ``natsim run``'s)."""

    name: str
    rows: list[dict[str, Any]]
    files: dict[str, bytes]
    exit_code: int


@dataclass
class LabSweep:
    """What a lab sweep produced: every row, the reports written, and the points that could not run
    (name → why)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    written: dict[str, Path] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def point_name(params: Sequence[Param], point: Sequence[Any], index: int) -> str:
    """``003-cpe.idle_timeout=1h30m``: the point's number and values, usable as a file name."""
    values = "-".join(f"{p.name}={value_label(v)}" for p, v in zip(params, point, strict=True))
    return re.sub(r"[^A-Za-z0-9._=,+-]", "_", f"{index:03d}-{values}")[:200]


def _pickled(scenario: Any) -> bytes:
    """``scenario`` pickled by value where plain pickle cannot (a topology class loaded from a file)."""
    try:
        import cloudpickle
    except ImportError:   # dask brings cloudpickle; without dask, points run here where pickle does
        import pickle
        return pickle.dumps(scenario)
    return bytes(cloudpickle.dumps(scenario))


def run_lab_point(point: Sequence[Any], name: str, scenario: Any, params: Sequence[Param]) -> PointRun:
    """Run one point in the lab (on a worker) and return its whole report; :class:`LabError` when
    the run sent no report (what it printed last says why). Nothing is written on the worker."""
    applied = apply(scenario, params, point)
    done = subprocess.run([sys.executable, "-m", "natsim.run.lab_point", str(os.getpid())],
                          input=_pickled(applied), capture_output=True, check=False)
    report = Report.read(done.stdout)
    if report is None or "result.json" not in report.files:
        said = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise LabError(f"point {name}: the lab run sent no result (exit {done.returncode}): "
                       + (" / ".join(said) or "it printed nothing"))
    result = RunResult.from_dict(json.loads(report.files["result.json"]))
    tags = {p.name: plain(v) for p, v in zip(params, point, strict=True)}
    rows = [{**tags, **row, "run": name} for row in summarise(result)]
    return PointRun(name, rows, {**report.files, LOG_NAME: done.stderr}, report.exit_code)


def collect(completed: Iterable[Any], names: dict[Any, str], out: OutputDir,
            report: Callable[[str], None] | None = None) -> LabSweep:
    """Write each point's report under ``runs/`` as its future completes; a point that failed is
    named in :attr:`LabSweep.failed` and the others go on. Rows come back in the points' order."""
    sweep, runs, order = LabSweep(), out.subdir(RUNS), list(names.values())
    for future in completed:
        name = names[future]
        try:
            run: PointRun = future.result()
        except Exception as err:   # one point's failure (a lab error, every worker lost) is reported
            sweep.failed[name] = f"{type(err).__name__}: {err}"
            if report is not None:
                report(f"point {name}: failed: {sweep.failed[name]}")
            continue
        sweep.written[name] = runs.write_tree(name, run.files)
        sweep.rows.extend(run.rows)
        if report is not None:
            report(f"point {name}: done, exit {run.exit_code} ({len(sweep.written)} of {len(names)})")
    sweep.rows.sort(key=lambda row: order.index(row["run"]))
    return sweep


def run_here(scenario: Any, params: Sequence[Param], points: Sequence[Sequence[Any]], out: OutputDir, *,
             workers: int = 1, report: Callable[[str], None] | None = None) -> LabSweep:
    """Every point in the lab on this machine, ``workers`` labs at a time (on Ctrl-C the points not
    started yet never start)."""
    from concurrent.futures import as_completed
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        names = {pool.submit(run_lab_point, pt, point_name(params, pt, i), scenario, params):
                 point_name(params, pt, i) for i, pt in enumerate(points, start=1)}
        return collect(as_completed(names), names, out, report)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_on_cluster(scenario: Any, params: Sequence[Param], points: Sequence[Sequence[Any]], out: OutputDir,
                   *, address: str, workers: int | None = None,
                   report: Callable[[str], None] | None = None) -> LabSweep:
    """Every point in the lab on the workers of the Dask cluster at ``address`` (``local``: a cluster
    of ``workers`` processes on this machine, see :func:`natsim.run.cluster.connect`)."""
    from natsim.run.cluster import connect
    with connect(address, workers=workers) as client:
        from dask.distributed import as_completed
        shared = client.scatter(scenario, broadcast=True)
        labels = [point_name(params, pt, i) for i, pt in enumerate(points, start=1)]
        futures = client.map(run_lab_point, list(points), labels, scenario=shared, params=list(params),
                             pure=False)
        return collect(as_completed(futures), dict(zip(futures, labels, strict=True)), out, report)
