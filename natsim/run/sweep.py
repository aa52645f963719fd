"""Parameter sweeps: many predictions over a grid of middlebox settings, run in parallel.

A parameter is ``NODE.SETTING=LOW..HIGH:STEP`` (durations or whole numbers) or
``NODE.SETTING=A,B,C`` (any values the setting accepts). Values are parsed and validated by the
middlebox's own config class, so a sweep can only produce configurations a scenario could hold.
Points run on a local process pool by default, or on Dask (``scheduler``) when asked.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import io
import itertools
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from natsim.errors import ConfigError
from natsim.fields import closest, parse_value, settings, validate
from natsim.middleboxes.base import Middlebox
from natsim.outfiles import write_file
from natsim.report.schema import RunResult, Verdict

#: Default upper bound on the number of grid points.
MAX_POINTS = 1000
FAILED = (Verdict.DEAD, Verdict.RESET, Verdict.EOF, Verdict.ERROR)


@dataclass(frozen=True)
class Param:
    """One swept setting and its values (parsed, in the config's own types)."""

    node: str
    setting: str
    values: tuple[Any, ...]

    @property
    def name(self) -> str:
        """``node.setting``."""
        return f"{self.node}.{self.setting}"


def _field(config: Middlebox, node: str, setting: str) -> dataclasses.Field[Any]:
    fields = {f.name: f for f in settings(type(config))}
    if setting not in fields:
        valid = ", ".join(sorted(fields))
        raise ConfigError(f"--param {node}.{setting}: {config.kind} has no setting "
                          f"'{setting}'{closest(setting, sorted(fields))}; valid: {valid}")
    return fields[setting]


def _range(text: str, what: str, parse: Callable[[str], float]) -> list[float]:
    bounds, sep, step_text = text.partition(":")
    lo_text, dots, hi_text = bounds.partition("..")
    if not dots or not sep:
        raise ConfigError(f"{what}: expected LOW..HIGH:STEP, got {text!r}")
    lo, hi, step = parse(lo_text), parse(hi_text), parse(step_text)
    if step <= 0:
        raise ConfigError(f"{what}: step must be greater than zero, got {step_text!r}")
    if lo > hi:
        raise ConfigError(f"{what}: range {text!r} has its lower end above its upper end")
    count = int((hi - lo) / step + 1e-9) + 1
    if count > 1_000_000:
        raise ConfigError(f"{what}: range {text!r} has {count} values")
    return [lo + k * step for k in range(count)]


def parse_param(text: str, middleboxes: Mapping[str, Any]) -> Param:
    """Parse ``NODE.SETTING=VALUES`` against the scenario's middlebox configs."""
    key, eq, values = text.partition("=")
    node, dot, setting = key.strip().partition(".")
    if not eq or not dot or not values.strip():
        raise ConfigError(f"--param {text!r}: expected NODE.SETTING=LOW..HIGH:STEP or NODE.SETTING=A,B")
    if node not in middleboxes:
        names = sorted(middleboxes)
        raise ConfigError(f"--param {key}: no middlebox '{node}' in the scenario"
                          f"{closest(node, names)}; middleboxes: {', '.join(names)}")
    spec = _field(middleboxes[node], node, setting).metadata
    what = f"--param {key}"
    raw: list[Any]
    if ".." in values and spec["parse"] in ("duration", "int"):
        def parse_one(v: str) -> float:
            return float(parse_value(what, spec, v.strip()))
        raw = _range(values.strip(), what, parse_one)
        if spec["parse"] == "int":
            raw = [int(v) for v in raw]
    else:
        raw = [v.strip() for v in values.split(",") if v.strip()]
    parsed = tuple(parse_value(what, spec, v) for v in raw)
    if spec["parse"] == "duration" and any(v <= 0 for v in parsed):
        raise ConfigError(f"{what}: durations must be greater than zero")
    return Param(node, setting, parsed)


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
    """``scenario`` with the point's settings (each config re-validated)."""
    boxes = dict(scenario.middleboxes)
    for param, value in zip(params, point, strict=True):
        config = dataclasses.replace(boxes[param.node], **{param.setting: value})
        validate(config)
        boxes[param.node] = config
    if not dataclasses.is_dataclass(scenario) or isinstance(scenario, type):
        raise ConfigError("sweep needs a scenario dataclass instance")
    return dataclasses.replace(scenario, middleboxes=boxes)


def summarise(result: RunResult) -> list[dict[str, Any]]:
    """One row per probe: verdict counts, first failure, estimate."""
    rows = []
    for probe in result.probes:
        counts = {v.value: 0 for v in Verdict}
        for c in probe.connections:
            counts[c.verdict.value] += 1
        failed = [c.idle for c in probe.connections if c.verdict in FAILED]
        total = len(probe.connections)
        rows.append({"probe": probe.name, "kind": probe.kind, **counts, "total": total,
                     "working_fraction": (counts["alive"] + counts["ok"]) / total if total else 0.0,
                     "first_failure_idle": min(failed) if failed else "",
                     "estimate_lower": probe.estimate.lower if probe.estimate else "",
                     "estimate_upper": probe.estimate.upper if probe.estimate else ""})
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
             seed: int = 0, as_lab: bool = False) -> list[dict[str, Any]]:
    """All points on a Dask cluster at ``address`` (``local``: an embedded local cluster)."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise ConfigError("--scheduler needs dask.distributed, which is not installed; "
                          "install it with: pip install 'natsim[dask]' "
                          "(or .venv/bin/pip install 'dask[distributed]')") from None
    client = Client(processes=True) if address == "local" else Client(address)
    try:
        shared = client.scatter(scenario, broadcast=True)
        futures = client.map(run_point, list(points), scenario=shared, params=list(params), seed=seed,
                             as_lab=as_lab, pure=False)
        return [row for rows in client.gather(futures) for row in rows]
    finally:
        client.close()


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


def plot_heatmap(rows: Sequence[dict[str, Any]], params: Sequence[Param], path: Path) -> None:
    """Write :func:`heatmap_png` to ``path``, never through a link."""
    write_file(path, heatmap_png(rows, params))


def heatmap_png(rows: Sequence[dict[str, Any]], params: Sequence[Param]) -> bytes:
    """Fraction of working connections per probe over the first one or two parameters (PNG)."""
    from matplotlib.figure import Figure  # no pyplot: leaves the importer's backend and figures alone

    probes = list(dict.fromkeys(r["probe"] for r in rows))
    xs = [_plain(v) for v in params[0].values]
    ys = [_plain(v) for v in params[1].values] if len(params) > 1 else [None]
    fig = Figure(figsize=(4.2 * len(probes) + 1, 3.8))
    axes = fig.subplots(1, len(probes), squeeze=False)
    for ax, probe in zip(axes[0], probes, strict=True):
        grid_values = [[0.0] * len(xs) for _ in ys]
        counts = [[0] * len(xs) for _ in ys]
        for r in rows:
            if r["probe"] != probe:
                continue
            xi = xs.index(r[params[0].name])
            yi = ys.index(r[params[1].name]) if len(params) > 1 else 0
            grid_values[yi][xi] += r["working_fraction"]
            counts[yi][xi] += 1
        data = [[v / c if c else float("nan") for v, c in zip(gv, cv, strict=True)]
                for gv, cv in zip(grid_values, counts, strict=True)]
        image = ax.imshow(data, origin="lower", aspect="auto", vmin=0, vmax=1, cmap="RdYlGn")
        ax.set_title(probe)
        ax.set_xticks(range(len(xs)), [_label(x) for x in xs], rotation=90, fontsize=7)
        ax.set_xlabel(params[0].name)
        if len(params) > 1:
            ax.set_yticks(range(len(ys)), [_label(y) for y in ys], fontsize=7)
            ax.set_ylabel(params[1].name)
        else:
            ax.set_yticks([])
    fig.colorbar(image, ax=axes[0].tolist(), label="fraction of connections working")
    extra = f" (averaged over {', '.join(p.name for p in params[2:])})" if len(params) > 2 else ""
    fig.suptitle(f"natsim sweep{extra}", fontsize=9)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=110, bbox_inches="tight")
    return png.getvalue()


def _label(value: Any) -> str:
    from natsim.units import format_duration
    if isinstance(value, float):
        return format_duration(value)
    return str(value)
