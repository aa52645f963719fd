"""Parameter sweeps: many predictions over a grid of middlebox settings and probe options, in parallel.

What a parameter names and how its values parse: :mod:`natsim.run.sweep_params`. Points run on a
local process pool by default, or on Dask (``scheduler``) when asked; :func:`summarise` gives one row
per point and probe (verdict counts, the first failing idle time, the estimate), the table and plots
are drawn by :mod:`natsim.report.sweep_report`.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import io
import itertools
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from natsim.errors import ConfigError
from natsim.outfiles import write_file
from natsim.report.schema import ConnectionResult, Estimate, ProbeResult, RunResult, Verdict
from natsim.run.sweep_params import Param, parse_param

__all__ = ["Param", "apply", "csv_text", "grid", "parse_param", "run_dask", "run_local", "summarise",
           "write_csv"]

#: Default upper bound on the number of grid points.
MAX_POINTS = 1000
FAILED = (Verdict.DEAD, Verdict.RESET, Verdict.EOF, Verdict.ERROR)


def grid(params: Sequence[Param], max_points: int = MAX_POINTS) -> list[tuple[Any, ...]]:
    """Every combination of the parameters' values; refuses more than ``max_points``."""
    if not params:
        raise ConfigError("no --param given: nothing to sweep")
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise ConfigError(f"--param given twice for {', '.join(n for n in names if names.count(n) > 1)}")
    total = 1
    for p in params:
        total *= len(p.values)
    if total > max_points:
        raise ConfigError(f"the sweep has {total} points, more than --max-points {max_points}; "
                          "use coarser steps or raise --max-points")
    return list(itertools.product(*(p.values for p in params)))


def apply(scenario: Any, params: Sequence[Param], point: Sequence[Any]) -> Any:
    """``scenario`` with the point's settings (each re-validated by its middlebox config or probe
    options)."""
    if not dataclasses.is_dataclass(scenario) or isinstance(scenario, type):
        raise ConfigError("sweep needs a scenario dataclass instance")
    for param, value in zip(params, point, strict=True):
        scenario = param.apply(scenario, value)
    return scenario


def _row(probe: ProbeResult, variant: str, connections: Sequence[ConnectionResult],
         estimate: Estimate | None) -> dict[str, Any]:
    counts = {v.value: 0 for v in Verdict}
    for c in connections:
        counts[c.verdict.value] += 1
    failed = [c.idle for c in connections if c.verdict in FAILED]
    total = len(connections)
    return {"probe": probe.name, "variant": variant, "kind": probe.kind, **counts, "total": total,
            "working_fraction": (counts["alive"] + counts["ok"]) / total if total else 0.0,
            "first_failure_idle": min(failed) if failed else "",
            "longest_idle": max((c.idle for c in connections), default=""),
            "estimate_lower": estimate.lower if estimate else "",
            "estimate_upper": estimate.upper if estimate else ""}


def summarise(result: RunResult) -> list[dict[str, Any]]:
    """One row per probe (verdict counts, first failing idle time, longest idle tested, estimate); a
    probe whose connections are named (ssh-idle's variants) gets one row per connection instead,
    ``variant`` naming it, so a sweep shows which variant survived."""
    rows: list[dict[str, Any]] = []
    for probe in result.probes:
        if any(c.label for c in probe.connections):
            rows.extend(_row(probe, c.label or f"#{c.index}", [c], None) for c in probe.connections)
        else:
            rows.append(_row(probe, "", probe.connections, probe.estimate))
    return rows


# ---- execution ---------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init(scenario: Any, params: Sequence[Param], seed: int, as_lab: bool) -> None:
    _WORKER.update(scenario=scenario, params=params, seed=seed, as_lab=as_lab)


def run_point(point: Sequence[Any], scenario: Any = None, params: Sequence[Param] | None = None,
              seed: int | None = None, as_lab: bool | None = None) -> list[dict[str, Any]]:
    """Predict one grid point (in a worker); rows tagged with the point's values."""
    from natsim.run.predict import predict
    scenario = scenario if scenario is not None else _WORKER["scenario"]
    params = params if params is not None else _WORKER["params"]
    seed = seed if seed is not None else _WORKER["seed"]
    as_lab = as_lab if as_lab is not None else _WORKER["as_lab"]
    result = predict(apply(scenario, params, point), seed, as_lab=as_lab)
    tags = {p.name: _plain(v) for p, v in zip(params, point, strict=True)}
    return [{**tags, **row} for row in summarise(result)]


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def run_local(scenario: Any, params: Sequence[Param], points: Sequence[Sequence[Any]], *, seed: int = 0,
              as_lab: bool = False, workers: int | None = None) -> list[dict[str, Any]]:
    """All points on a local process pool (``workers`` processes, default: CPU count)."""
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(points) == 1:
        return [row for pt in points for row in run_point(pt, scenario, params, seed, as_lab)]
    chunk = max(1, len(points) // (workers * 4))
    with ProcessPoolExecutor(max_workers=workers, initializer=_init,
                             initargs=(scenario, list(params), seed, as_lab)) as pool:
        return [row for rows in pool.map(run_point, points, chunksize=chunk) for row in rows]


def run_dask(scenario: Any, params: Sequence[Param], points: Sequence[Sequence[Any]], *, address: str,
             seed: int = 0, as_lab: bool = False, workers: int | None = None) -> list[dict[str, Any]]:
    """All points on a Dask cluster at ``address`` (``local``: a cluster of ``workers`` processes on
    this machine, see :func:`natsim.run.cluster.connect`)."""
    from natsim.run.cluster import connect
    with connect(address, workers=workers) as client:
        shared = client.scatter(scenario, broadcast=True)
        futures = client.map(run_point, list(points), scenario=shared, params=list(params), seed=seed,
                             as_lab=as_lab, pure=False)
        return [row for rows in client.gather(futures) for row in rows]


# ---- output ------------------------------------------------------------------------------------

def csv_text(rows: Iterable[dict[str, Any]]) -> str:
    """Rows (union of keys, first-seen order) as CSV text."""
    rows = list(rows)
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()


def write_csv(rows: Iterable[dict[str, Any]], path: Path) -> None:
    """Write rows as CSV (:func:`csv_text`) to ``path``, never through a link."""
    write_file(path, csv_text(rows))
