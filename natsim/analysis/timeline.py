"""The middleboxes' conntrack timeline: per middlebox, per connection, when its entry lived.

Read from the capture (what crossed each middlebox, when) and each middlebox's idle timeout for an
established connection (its policy table, real-world seconds): an entry is made by the first packet
that crosses, refreshed by every later one, and expires when no packet crossed for the timeout; a
packet that arrives after that and is lost at the middlebox is marked where it died, one that gets
through re-creates the entry (a loose pickup). A connection that ends with a FIN or RST is drawn
closed at its last packet (the kernel keeps a closing entry for its short close timeouts, not
drawn). The kernel's own table is not read: this is the table the policy implies from the packets
on the wire.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from natsim.analysis.analyze import Analysis
from natsim.analysis.connections import Connection
from natsim.analysis.events import classify
from natsim.report.plot import time_unit
from natsim.units import format_duration

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: What a packet did at a middlebox: crossed it, was lost in it, or was sent by it (an RST).
CROSSED, LOST, SENT = "crossed", "lost", "sent"


@dataclass(frozen=True)
class Crossing:
    """A packet at a middlebox, ``time`` real-world seconds after the capture started."""

    time: float
    what: str
    closes: bool = False   # a FIN or RST


@dataclass
class EntryLife:
    """One connection's entries at one middlebox: ``spans`` (start, end, how it ended: ``expired``,
    ``closed`` or ``open`` at the end of the capture), and the packets there."""

    name: str
    crossings: list[Crossing]
    spans: list[tuple[float, float, str]] = field(default_factory=list)


def crossings_at(conn: Connection, node: str, scale: float, start: float) -> list[Crossing]:
    """What each packet of ``conn`` did at middlebox ``node``, in real-world seconds since ``start``:
    lab time scaled, except the delay of a retransmission, which TCP's timer set at kernel speed (as
    :meth:`natsim.analysis.events.Event.real` counts it)."""
    if node not in conn.path[1:-1]:
        return []
    k = conn.path.index(node)
    labels = classify(conn)
    found = []
    scaled_at = start   # the last packet sent at a time the lab scales
    for transit in conn.transits:
        anchor = scaled_at if labels.get((transit.first.link, transit.first.index)) == "retransmission" \
            else None
        if anchor is None:
            scaled_at = transit.time

        def real(time: float, anchor: float | None = anchor) -> float:
            return (time - start) * scale if anchor is None else (anchor - start) * scale + time - anchor

        where = {conn.positions.get(hop.link): hop for hop in transit.hops}
        inside, outside = (k - 1, k) if transit.rightward else (k, k - 1)
        closes = any(flag in transit.first.flags for flag in "FR")
        if inside in where:
            what = CROSSED if outside in where else LOST if transit.lost_at == node else ""
            if what:
                found.append(Crossing(real(where[inside].time), what, closes))
        elif outside in where and transit.origin == node:
            found.append(Crossing(real(where[outside].time), SENT, closes))
    return found


def entry_life(name: str, crossings: list[Crossing], timeout: float, end: float) -> EntryLife:
    """The entries ``crossings`` imply under idle ``timeout``; ``end``: when the capture ended. Only a
    packet that crossed makes or refreshes an entry (one the middlebox sent itself does not)."""
    life = EntryLife(name, crossings)
    born: float | None = None
    last, closing = 0.0, False
    for crossing in crossings:
        if born is not None and crossing.time - last > timeout:
            life.spans.append((born, last + timeout, "expired"))
            born, closing = None, False
        if crossing.what == CROSSED:
            born = crossing.time if born is None else born
            last = crossing.time
            closing = closing or crossing.closes
    if born is not None:
        expires = last + timeout
        how = "closed" if closing else "expired" if expires <= end else "open"
        life.spans.append((born, last if closing else min(expires, end), how))
    return life


def timelines(analysis: Analysis, timeouts: Mapping[str, float]) -> dict[str, list[EntryLife]]:
    """Middlebox → the entry lives of every connection that reached it (``timeouts``: middlebox →
    established idle timeout, real-world seconds; middleboxes without one are left out)."""
    cap = analysis.capture
    start, scale = cap.start, cap.time_scale
    end = (max((r.connection.end for r in analysis.connections), default=start) - start) * scale
    found: dict[str, list[EntryLife]] = {}
    for node, timeout in timeouts.items():
        rows = []
        for report in analysis.connections:
            crossings = crossings_at(report.connection, node, scale, start)
            if crossings:
                rows.append(entry_life(analysis.name(report), crossings, timeout, end))
        if rows:
            found[node] = rows
    return found


_SPAN_COLOURS = {"expired": "tab:blue", "closed": "tab:gray", "open": "lightsteelblue"}
_SPAN_LABELS = {"expired": "entry", "closed": "entry (connection closed)",
                "open": "entry (still there when the capture ended)"}


def _draw_row(ax: Axes, y: int, life: EntryLife, unit: float) -> None:
    for begin, finish, how in life.spans:
        ax.plot([begin / unit, finish / unit], [y, y], color=_SPAN_COLOURS[how], linewidth=6,
                solid_capstyle="butt", zorder=2, label=_SPAN_LABELS[how])
        if how == "expired":
            ax.plot([finish / unit], [y], marker="|", markersize=14, color="black", zorder=3,
                    label="entry expired (idle ≥ timeout)")
    styles = {CROSSED: ("o", "black", "packet crossed (refreshes)"), LOST: ("x", "red", "packet lost here"),
              SENT: ("v", "tab:orange", "packet sent by the middlebox")}
    for crossing in life.crossings:
        marker, colour, label = styles[crossing.what]
        ax.plot([crossing.time / unit], [y], marker=marker, color=colour,
                markersize=4 if marker == "o" else 8, markeredgewidth=2 if marker == "x" else 1,
                linestyle="none", zorder=4, label=label)


def timeline_figure(analysis: Analysis, timeouts: Mapping[str, float]) -> Figure | None:
    """One panel per middlebox with an idle timeout, one row per connection that reached it; None when
    no captured connection reached any of them."""
    from matplotlib.figure import Figure  # no pyplot: leaves the importer's backend and figures alone

    found = timelines(analysis, timeouts)
    if not found:
        return None
    longest = max(s[1] for rows in found.values() for life in rows for s in life.spans or [(0, 0, "")])
    longest = max([longest, *(c.time for rows in found.values() for life in rows for c in life.crossings)])
    unit = time_unit(longest)
    heights = [1.0 + 0.3 * len(rows) for rows in found.values()]
    fig = Figure(figsize=(10, 1.2 + sum(heights)))
    axes = fig.subplots(len(found), 1, squeeze=False, height_ratios=heights)[:, 0]
    for ax, (node, rows) in zip(axes, found.items(), strict=True):
        for y, life in enumerate(rows):
            _draw_row(ax, y, life, unit.seconds)
        ax.set_yticks(range(len(rows)), [life.name for life in rows], fontsize=7)
        ax.set_ylim(len(rows) - 0.4, -0.6)
        ax.set_title(f"{node}: conntrack entries (idle timeout {format_duration(timeouts[node])})",
                     fontsize=9, loc="left")
        ax.grid(axis="x", color="0.9")
    axes[-1].set_xlabel(f"real-world {unit.name} since the capture started (lab time × time scale; "
                        "a retransmission's delay is TCP's timer, not scaled)")
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes[1:]:
        more = ax.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    unique = dict(zip(labels, handles, strict=False))
    fig.legend(unique.values(), unique.keys(), loc="outside lower center", ncols=3, fontsize=8)
    fig.set_layout_engine("constrained")
    return fig

