"""Ladder (sequence) diagrams of one connection across every hop, drops marked where they happened.

One vertical lane per node on the path; each packet is drawn hop by hop at the times it was seen on
each link. A packet that never came out of a middlebox ends in a red ✕ on that middlebox's lane.
Long silences are compressed on the time axis and labelled, so an hour of idle does not hide the
handshake. Drawn on a bare ``matplotlib.figure.Figure`` (no pyplot, no display, the importer's backend
untouched) and saved as PNG and SVG.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from natsim.analysis.analyze import Analysis, ConnectionReport
from natsim.analysis.capture_dir import CaptureDir
from natsim.analysis.connections import Connection, Transit
from natsim.analysis.events import classify
from natsim.analysis.segments import AnalysisError
from natsim.outfiles import OutputDir
from natsim.units import format_duration

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Silences longer than this (lab seconds) between two packets are shaded and labelled.
GAP = 0.2
#: Vertical drop of an arrow across one hop, in rows (one row per packet).
SLANT = 0.25
_COLOURS = {"syn": "tab:blue", "syn-ack": "tab:blue", "fin": "tab:purple", "rst": "tab:red",
            "keepalive": "tab:orange", "retransmission": "tab:brown", "data": "black", "ack": "tab:gray"}


def draw_ladder(analysis: Analysis, conn_id: str, output: str | Path, *, for_user: bool = False,
                lock: bool = False) -> list[Path]:
    """Draw connection ``conn_id``; writes ``output`` with ``.png`` and ``.svg``; returns both paths.
    ``for_user``: under sudo the files are the invoking user's; ``lock``: refuse while another natsim
    writes that directory (:meth:`natsim.outfiles.OutputDir.lock`)."""
    return _save(ladder_figure(analysis, conn_id), output, for_user=for_user, lock=lock)


def ladder_figure(analysis: Analysis, conn_id: str) -> Figure:
    """The ladder diagram of connection ``conn_id`` (a capture id or a probe connection) as a bare
    matplotlib Figure, for a file (:func:`draw_ladder`) or a page (``report.html``)."""
    from matplotlib.figure import Figure  # no pyplot: leaves the importer's backend and figures alone

    report: ConnectionReport = analysis.connection(conn_id)
    conn = report.connection
    if not conn.positions:
        raise AnalysisError("a ladder needs capture.json (the lab's links); this directory has none")
    lanes = {node: i for i, node in enumerate(conn.path)}
    rows = len(conn.transits)
    span = max(rows + 1.0, 2.0)
    fig = Figure(figsize=(2.0 + 1.8 * len(lanes), min(60.0, 2.0 + 0.32 * rows)))
    ax = fig.subplots()
    _draw_lanes(ax, lanes, span)
    _draw_transits(ax, conn, lanes, analysis.capture)
    _finish_axes(ax, report, len(lanes), span, analysis.name(report))
    fig.tight_layout()
    return fig


def _draw_lanes(ax: Any, lanes: dict[str, int], span: float) -> None:
    """One vertical line per node, its name on top."""
    for node, x in lanes.items():
        ax.plot([x, x], [-0.5, span], color="0.6", linewidth=1, zorder=1)
        ax.text(x, -0.7, node, ha="center", va="bottom", fontsize=10, fontweight="bold")


def _draw_transits(ax: Any, conn: Connection, lanes: dict[str, int], cap: CaptureDir) -> None:
    """One row per packet, a shaded band before each long silence."""
    labels = classify(conn)
    start = cap.start
    previous = None
    for row, transit in enumerate(conn.transits):
        label = labels.get((transit.first.link, transit.first.index), "ack")
        if previous is not None and transit.time - previous > GAP:
            # a wait that ends in a retransmission is TCP's retransmission timer: not scaled
            _draw_gap(ax, row, transit.time - previous, 1.0 if label == "retransmission" else cap.time_scale,
                      len(lanes), unscaled=label == "retransmission")
        previous = transit.time
        _draw_transit(ax, row, transit, label, conn.positions, lanes, transit.time - start)


def _draw_gap(ax: Any, row: int, seconds: float, time_scale: float, lane_count: int, *,
              unscaled: bool = False) -> None:
    """Shade and label a silence of ``seconds`` (lab) just above ``row`` (``unscaled``: a
    retransmission timer, as long in the real world)."""
    ax.axhspan(row - 0.45, row - 0.05, color="0.92", zorder=0)
    real = f" (real {format_duration(seconds * time_scale)})" if time_scale != 1.0 else ""
    if unscaled:
        real = " (retransmission timer: not scaled)"
    ax.text((lane_count - 1) / 2, row - 0.25, f"idle {seconds:.3f} s{real}", fontsize=7,
            va="center", ha="center", color="0.3",
            bbox={"facecolor": "0.92", "edgecolor": "none", "pad": 1})


def _draw_transit(ax: Any, row: int, transit: Transit, label: str, positions: dict[str, int],
                  lanes: dict[str, int], since_start: float) -> None:
    """The packet's arrows hop by hop, labelled on the first, its time; a red ✕ where it was lost."""
    colour = _COLOURS.get(label, "black")
    step = 1 if transit.rightward else -1
    y = float(row)
    for n, seg in enumerate(transit.hops):
        pos = positions.get(seg.link)
        if pos is None:
            continue
        x0 = pos if transit.rightward else pos + 1
        y = row + n * SLANT / 2
        ax.annotate("", xy=(x0 + step * 0.97, y + SLANT / 2), xytext=(x0, y),
                    arrowprops={"arrowstyle": "->", "color": colour, "lw": 1.0}, zorder=2)
        if n == 0:
            ax.text(x0 + step * 0.5, y - 0.05, f"{label}: {seg.describe()}"[:52], fontsize=6,
                    ha="center", va="bottom", color=colour)
    ax.text(-0.45, row, f"{since_start:.3f}", fontsize=6, va="center", color="0.3")
    if transit.lost_at is not None:
        y_lost = y + SLANT / 2
        ax.plot([lanes[transit.lost_at]], [y_lost], marker="x", color="red", markersize=9,
                markeredgewidth=2.5, zorder=3)
        ax.text(lanes[transit.lost_at] + 0.06, y_lost + 0.1, f"lost at {transit.lost_at}",
                fontsize=6, color="red", va="top")


def _finish_axes(ax: Any, report: ConnectionReport, lane_count: int, span: float, name: str) -> None:
    """Limits, no ticks, the axis label and the title (``name``: ``send #59 (c191)``)."""
    conn = report.connection
    ax.set_xlim(-0.5, lane_count - 0.5)
    ax.set_ylim(span, -1.4)
    ax.set_yticks([])
    ax.set_xticks([])
    ax.set_ylabel("one row per packet; left: lab seconds since capture start")
    ax.set_title(f"{name}: {conn.initiator} → {conn.responder} — {report.outcome}", fontsize=9)


def _save(fig: Any, output: str | Path, *, for_user: bool, lock: bool) -> list[Path]:
    """Write ``output`` as PNG and SVG (its ``.png``/``.svg`` suffix, if any, replaced), never
    through a link (:mod:`natsim.outfiles`)."""
    out = Path(output)
    base = out.with_suffix("") if out.suffix in (".png", ".svg") else out
    with OutputDir.open(base.parent, for_user=for_user) as directory:
        if lock:
            directory.lock()
        return [directory.write_with(f"{base.name}.png", lambda h: fig.savefig(h, format="png", dpi=110)),
                directory.write_with(f"{base.name}.svg", lambda h: fig.savefig(h, format="svg"))]
