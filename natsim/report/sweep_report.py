"""What ``natsim sweep`` shows: its table (stdout) and its plot (``sweep.png``).

The answer a sweep gives is, per probe, the first idle time at which a connection failed. One
parameter: that time as a line against the parameter (a triangle where nothing failed up to the
longest idle tested). Two or more: a heat map per probe over the first two parameters (the lowest
over any others), coloured by that time with a labelled colour bar. Figures are returned, never shown
(no pyplot): other reports embed them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from natsim.units import format_duration

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

class Param(Protocol):
    """What a report needs of a swept parameter (``natsim.run.sweep_params.Param``): its name and
    values."""

    @property
    def name(self) -> str:
        """``cpe.idle_timeout``."""
        ...

    @property
    def values(self) -> tuple[Any, ...]:
        """Its values, in the setting's own types."""
        ...


#: At most this many tick labels along a heat map axis (the rest are left out, so none overlap).
MAX_TICKS = 12
MARKERS, STYLES = ("o", "s", "D", "v", "P", "X"), ("-", "--", ":", "-.")
VERDICTS = ("alive", "ok", "dead", "reset", "eof", "error", "skipped")


def plain(value: Any) -> Any:
    """An enum member as its value; anything else unchanged."""
    return getattr(value, "value", value)


def value_label(value: Any) -> str:
    """A parameter value as a user writes it (durations like ``1h30m``)."""
    value = plain(value)
    if isinstance(value, float):
        return format_duration(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def series(row: dict[str, Any]) -> str:
    """What a row is about: ``send``, or ``sessions serveralive-300`` (one variant of a probe)."""
    return f"{row['probe']} {row['variant']}" if row.get("variant") else str(row["probe"])


def _first_failure(row: dict[str, Any]) -> str:
    first = row.get("first_failure_idle", "")
    if first == "":
        longest = row.get("longest_idle", "")
        return "none" + (f" up to {format_duration(longest)}" if longest != "" else "")
    return format_duration(first)


def format_table(rows: Sequence[dict[str, Any]], params: Sequence[Param]) -> str:
    """One line per point and probe: the parameters' values, verdict counts, the first failing idle
    time (with the failed variants' names) and the estimate."""
    header = [p.name for p in params] + ["probe", "verdicts", "first failure", "estimate"]
    table = [header]
    for row in rows:
        verdicts = ", ".join(f"{row[v]} {v}" for v in VERDICTS if row.get(v))
        lower, upper = row.get("estimate_lower", ""), row.get("estimate_upper", "")
        estimate = (f"{format_duration(lower) if lower not in ('', None) else '0'}..{format_duration(upper)}"
                    if upper not in ("", None) else "-")
        table.append([value_label(row[p.name]) for p in params]
                     + [series(row), verdicts or "-", _first_failure(row), estimate])
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
                     for line in table) + "\n"


def _unit(longest: float) -> tuple[str, float]:
    if longest <= 120:
        return "seconds", 1.0
    if longest <= 5 * 3600:
        return "minutes", 60.0
    return "hours", 3600.0


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(plain(v), int | float) and not isinstance(plain(v), bool) for v in values)


def _longest(rows: Sequence[dict[str, Any]]) -> float:
    return max((float(r["longest_idle"]) for r in rows if r.get("longest_idle") not in ("", None)),
               default=60.0)


def sweep_figure(rows: Sequence[dict[str, Any]], params: Sequence[Param], title: str = "") -> Figure:
    """The sweep's plot: a line for one parameter, heat maps for two or more."""
    if len(params) == 1:
        return _line_figure(rows, params[0], title)
    return _heatmap_figure(rows, params, title)


def _line_figure(rows: Sequence[dict[str, Any]], param: Param, title: str) -> Figure:
    from matplotlib.figure import Figure  # no pyplot: leaves the importer's backend and figures alone

    unit_name, unit = _unit(_longest(rows))
    values = list(param.values)
    numeric = _numeric(values)
    durations = numeric and any(isinstance(plain(v), float) for v in values)
    x_unit_name, x_unit = _unit(max(float(plain(v)) for v in values)) if durations else ("", 1.0)
    xs = [float(plain(v)) / x_unit for v in values] if numeric else list(range(len(values)))
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    nothing_failed = False
    for i, probe in enumerate(dict.fromkeys(series(r) for r in rows)):
        mine = {plain(r[param.name]): r for r in rows if series(r) == probe}
        ys = [float(mine[plain(v)]["first_failure_idle"]) / unit
              if mine[plain(v)]["first_failure_idle"] != "" else math.nan for v in values]
        # series that coincide stay visible: each smaller than the one before, its own line style
        size = max(3.0, 11.0 - 2.5 * i)
        line = ax.plot(xs, ys, marker=MARKERS[i % len(MARKERS)], markersize=size, label=probe, zorder=2 + i,
                       linestyle=STYLES[i % len(STYLES)], linewidth=max(1.0, 2.5 - 0.5 * i))[0]
        tops = [(x, float(mine[plain(v)]["longest_idle"]) / unit) for x, v in zip(xs, values, strict=True)
                if mine[plain(v)]["first_failure_idle"] == "" and mine[plain(v)]["longest_idle"] != ""]
        if tops:
            nothing_failed = True
            ax.scatter([t[0] for t in tops], [t[1] for t in tops], marker="^", facecolors="none",
                       edgecolors=line.get_color(), s=(size * 1.4) ** 2, zorder=2 + i)
    if nothing_failed:
        ax.scatter([], [], marker="^", facecolors="none", edgecolors="grey",
                   label="no failure up to the longest idle tested")
    if not numeric:
        ax.set_xticks(xs, [value_label(v) for v in values])
    ax.set_xlabel(param.name + (f" (real-world {x_unit_name})" if durations else ""))
    ax.set_ylabel(f"first failing idle time (real-world {unit_name})")
    ax.set_ylim(0, _longest(rows) / unit * 1.08)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(f"natsim sweep{': ' + title if title else ''}: when connections start failing", fontsize=10)
    return fig


def _ticks(ax: Axes, axis: str, labels: Sequence[str]) -> None:
    """Tick labels for a heat map axis: every k-th one so at most :data:`MAX_TICKS` show."""
    every = max(1, math.ceil(len(labels) / MAX_TICKS))
    positions = list(range(0, len(labels), every))
    shown = [labels[i] for i in positions]
    if axis == "x":
        ax.set_xticks(positions, shown, rotation=45, ha="right", fontsize=7)
    else:
        ax.set_yticks(positions, shown, fontsize=7)


def _grid(rows: Sequence[dict[str, Any]], params: Sequence[Param], probe: str,
          unit: float) -> list[list[float]]:
    """First failing idle per (y, x) cell, the lowest over any further parameters; NaN: none failed."""
    xs = [plain(v) for v in params[0].values]
    ys = [plain(v) for v in params[1].values]
    cells = [[math.nan] * len(xs) for _ in ys]
    for r in rows:
        if series(r) != probe or r["first_failure_idle"] == "":
            continue
        yi, xi = ys.index(r[params[1].name]), xs.index(r[params[0].name])
        cells[yi][xi] = min(float(r["first_failure_idle"]) / unit, cells[yi][xi]) \
            if not math.isnan(cells[yi][xi]) else float(r["first_failure_idle"]) / unit
    return cells


def _annotate(ax: Axes, cells: list[list[float]], unit: float, top: float) -> None:
    """Write each cell's value (``none`` where nothing failed) into it."""
    for yi, line in enumerate(cells):
        for xi, value in enumerate(line):
            empty = math.isnan(value)
            ax.text(xi, yi, "none" if empty else format_duration(value * unit), ha="center", va="center",
                    fontsize=6, color="black" if empty or value > top / 2 else "white")


def _heatmap_figure(rows: Sequence[dict[str, Any]], params: Sequence[Param], title: str) -> Figure:
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    unit_name, unit = _unit(_longest(rows))
    probes = list(dict.fromkeys(series(r) for r in rows))
    xs, ys = [value_label(v) for v in params[0].values], [value_label(v) for v in params[1].values]
    fig = Figure(figsize=(1.5 + 4.2 * len(probes), 1.8 + 0.25 * min(len(ys), 30)), layout="constrained")
    axes = fig.subplots(1, len(probes), squeeze=False)[0]
    cmap = colormaps["viridis"].with_extremes(bad="0.85")
    image = None
    for ax, probe in zip(axes, probes, strict=True):
        cells = _grid(rows, params, probe, unit)
        image = ax.imshow(cells, origin="lower", aspect="auto", cmap=cmap, vmin=0, vmax=_longest(rows) / unit)
        if len(xs) * len(ys) <= 64:
            _annotate(ax, cells, unit, _longest(rows) / unit)
        ax.set_title(probe, fontsize=9)
        _ticks(ax, "x", xs)
        _ticks(ax, "y", ys)
        ax.set_xlabel(params[0].name, fontsize=8)
        ax.set_ylabel(params[1].name, fontsize=8)
    assert image is not None
    label = f"first failing idle (real-world {unit_name})\ngrey: none failed"
    fig.colorbar(image, ax=list(axes), label=label)
    rest = f" (lowest over {', '.join(p.name for p in params[2:])})" if len(params) > 2 else ""
    fig.suptitle(f"natsim sweep{': ' + title if title else ''}: when connections start failing{rest}",
                 fontsize=10)
    return fig
