"""``survival.png``: per connection, idle time vs verdict, the middleboxes' timeouts drawn as lines.

Every connection is a visible point: a probe whose connections all have different idle times (a
ladder) is one row; a probe with labelled connections (ssh-idle's variants) or with several at the
same idle time (ssh-first-connect's attempts) gets one row per connection, labelled, so no point sits
on another. The axis fits the idle times measured; a timeout beyond them is named as off-scale
instead of stretching the axis. :func:`survival_figure` returns the figure (no pyplot, no global
state), so other reports can embed it.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from natsim.outfiles import write_file
from natsim.report.schema import ConnectionResult, RunResult, Verdict
from natsim.report.summary import one_line
from natsim.units import format_duration

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLORS = {Verdict.ALIVE: "tab:green", Verdict.OK: "tab:green", Verdict.DEAD: "tab:red",
          Verdict.RESET: "tab:orange", Verdict.EOF: "tab:purple", Verdict.REFUSED: "tab:brown",
          Verdict.ERROR: "black",
          Verdict.SKIPPED: "lightgrey"}
#: A row with more points than this draws them as ticks (``|``) instead of dots.
TICKS_FROM = 40
#: How many dots (ticks) fit side by side along the idle axis without touching.
MARKERS_PER_AXIS_DOTS, MARKERS_PER_AXIS_TICKS = 100, 250


@dataclass(frozen=True)
class SurvivalRow:
    """One row of the plot: its label and its connections (no two at the same idle time); ``note``:
    written across an empty row (why a probe has no result)."""

    label: str
    connections: tuple[ConnectionResult, ...]
    note: str = ""


def _apart(idles: Sequence[float], width: float) -> bool:
    """No two of ``idles`` closer than ``width`` (where their markers would touch)."""
    ordered = sorted(idles)
    return all(b - a >= width for a, b in itertools.pairwise(ordered))


def _marker_width(count: int, limit: float) -> float:
    """The idle span a marker covers on an axis running to ``limit`` (ticks are narrower than dots)."""
    return limit / (MARKERS_PER_AXIS_TICKS if count > TICKS_FROM else MARKERS_PER_AXIS_DOTS)


def survival_rows(result: RunResult) -> list[SurvivalRow]:
    """The plot's rows, top to bottom: one per probe, or one per connection where a probe's
    connections are labelled or would touch on one row (same or nearly the same idle time)."""
    limit = _limit(max((c.idle for p in result.probes for c in p.connections), default=0.0))
    rows = []
    for probe in result.probes:
        conns = sorted(probe.connections, key=lambda c: c.index)
        if not conns:
            error = probe.extra.get("error")
            note = f"could not run: {one_line(str(error), 90)}" if error else "no connection was tested"
            rows.append(SurvivalRow(f"{probe.name} (no result)", (), note))
        elif not any(c.label for c in conns) and _apart([c.idle for c in conns],
                                                         _marker_width(len(conns), limit)):
            rows.append(SurvivalRow(probe.name, tuple(conns)))
        else:
            rows.extend(SurvivalRow(f"{probe.name} {c.name}", (c,)) for c in conns)
    return rows


@dataclass(frozen=True)
class AxisUnit:
    """A time axis's unit: its name (``minutes``) and its length in seconds."""

    name: str
    seconds: float


def time_unit(longest: float) -> AxisUnit:
    """The unit an axis running to ``longest`` real-world seconds is drawn in (its ``name`` and
    ``seconds``): seconds up to 2 min, minutes up to 5 h, else hours."""
    if longest <= 120:
        return AxisUnit("seconds", 1.0)
    if longest <= 5 * 3600:
        return AxisUnit("minutes", 60.0)
    return AxisUnit("hours", 3600.0)


def longest_idle(rows: Sequence[SurvivalRow]) -> float:
    """The longest idle time of any connection (real-world seconds; 0 without any)."""
    return max((c.idle for row in rows for c in row.connections), default=0.0)


def _limit(longest: float) -> float:
    return longest * 1.05 if longest > 0 else 60.0


def axis_limit(rows: Sequence[SurvivalRow]) -> float:
    """The right end of the idle axis (real-world seconds): the longest idle measured plus 5 %."""
    return _limit(longest_idle(rows))


def survival_figure(result: RunResult, timeouts: Mapping[str, float]) -> Figure:
    """The survival plot; ``timeouts`` maps a label (``cpe idle 1h``) to real-world seconds. Timeouts
    beyond the idle times measured are listed as off-scale under the axis."""
    from matplotlib.figure import Figure  # no pyplot: leaves the importer's backend and figures alone

    rows = survival_rows(result)
    limit = axis_limit(rows)
    unit = time_unit(limit)
    fig = Figure(figsize=(9, 1.5 + 0.35 * max(2, len(rows))))
    ax = fig.subplots()
    for y, row in enumerate(rows):
        if row.note:
            ax.text(0.01, y, row.note, transform=ax.get_yaxis_transform(), va="center", fontsize=8,
                    color="firebrick" if row.note.startswith("could not run") else "dimgrey")
        marker = "|" if len(row.connections) > TICKS_FROM else "o"
        for verdict in Verdict:
            xs = [c.idle / unit.seconds for c in row.connections if c.verdict is verdict]
            if xs:
                ax.scatter(xs, [y] * len(xs), s=22, color=COLORS[verdict], label=verdict.value,
                           marker=marker, zorder=3)
    off_scale = []
    for label, seconds in timeouts.items():
        if seconds > limit:
            off_scale.append(label)
            continue
        ax.axvline(seconds / unit.seconds, linestyle="--", color="grey", zorder=1)
        # named above the plot, where no point is
        ax.annotate(label, xy=(seconds / unit.seconds, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=8,
                    color="dimgrey")
    ax.set_yticks(range(len(rows)), [row.label for row in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.4, -0.7)   # first probe on top
    ax.set_xlim(-0.02 * limit / unit.seconds, limit / unit.seconds)
    xlabel = f"idle time before the test (real-world {unit.name})"
    if off_scale:
        xlabel += (f"\noff-scale (beyond the longest idle tested, {format_duration(longest_idle(rows))}): "
                   + "; ".join(off_scale))
    ax.set_xlabel(xlabel)
    ax.set_title(f"{result.scenario or 'natsim'}: which idle connections survived", pad=16)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=False))
    if unique:
        ax.legend(unique.values(), unique.keys(), loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    fig.set_layout_engine("constrained")
    return fig


def png_bytes(fig: Figure, dpi: int = 110) -> bytes:
    """``fig`` as PNG (written by the caller through :mod:`natsim.outfiles`)."""
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=dpi)
    return png.getvalue()


def survival_png(result: RunResult, timeouts: Mapping[str, float]) -> bytes:
    """:func:`survival_figure` as PNG."""
    return png_bytes(survival_figure(result, timeouts))


def plot_survival(result: RunResult, path: Path, timeouts: Mapping[str, float]) -> None:
    """Write the survival plot as PNG to ``path``, never through a link."""
    write_file(path, survival_png(result, timeouts))
