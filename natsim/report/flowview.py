"""A node's conntrack table as ``natsim watch`` shows it: one row per flow, its time left in
real-world units at the lab's time scale, its original direction and its NAT mapping.

The kernel counts a flow's remaining time in lab seconds; a lab at time scale S runs S real-world
seconds per lab second, so the real-world time left is ``timeout x S`` (``59 x 60 s`` = ``59m``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table

from natsim.lab.flows import Flow
from natsim.units import format_duration

COLUMNS = ("proto", "state", "time left", "lab s", "original (source -> destination)", "NAT mapping")


def time_left(flow: Flow, time_scale: float) -> str:
    """Real-world time until the kernel removes ``flow``: ``59m``, ``1h``, ``0s``."""
    return format_duration(round(flow.timeout * time_scale, 3))


def mapping(flow: Flow) -> str:
    """What NAT made of ``flow``: ``inside => public`` (source NAT), ``destination => redirected``
    (destination NAT), or ``-``."""
    parts = []
    if flow.source_nat is not None:
        parts.append(f"{flow.original.src} => {flow.source_nat}")
    if flow.destination_nat is not None:
        parts.append(f"{flow.original.dst} => {flow.destination_nat} (destination)")
    return "; ".join(parts) or "-"


def ordered(flows: Sequence[Flow]) -> list[Flow]:
    """Flows in a stable order (protocol, then original direction), so a row stays in place while
    its time counts down."""
    return sorted(flows, key=lambda flow: (flow.protocol, flow.original, flow.id))


def rows(flows: Sequence[Flow], time_scale: float) -> list[tuple[str, ...]]:
    """One row of :data:`COLUMNS` per flow."""
    return [(flow.protocol, flow.condition, time_left(flow, time_scale), str(flow.timeout),
             str(flow.original), mapping(flow)) for flow in ordered(flows)]


def table(flows: Sequence[Flow], time_scale: float, title: str) -> Table:
    """The flows as a rich table."""
    view = Table(title=title, title_justify="left", expand=False)
    for column in COLUMNS:   # in a narrow terminal the tuples fold; the short columns keep their width
        short = column in COLUMNS[:4]
        view.add_column(column, justify="right" if column in ("time left", "lab s") else "left",
                        no_wrap=short, min_width=len(column) if short else None,
                        overflow="ellipsis" if short else "fold")
    for row in rows(flows, time_scale):
        view.add_row(*row)
    if not flows:
        view.add_row("", "(no flows)", "", "", "", "")
    return view


def as_json(flows: Sequence[Flow], time_scale: float) -> list[dict[str, Any]]:
    """The flows as ``natsim watch --once --json`` prints them."""
    return [{"protocol": flow.protocol, "state": flow.condition, "lab_seconds_left": flow.timeout,
             "time_left": time_left(flow, time_scale), "seconds_left": flow.timeout * time_scale,
             "original": {"src": str(flow.original.src), "dst": str(flow.original.dst)},
             "reply": {"src": str(flow.reply.src), "dst": str(flow.reply.dst)},
             "source_nat": str(flow.source_nat) if flow.source_nat else None,
             "destination_nat": str(flow.destination_nat) if flow.destination_nat else None,
             "flags": list(flow.flags), "id": flow.id} for flow in ordered(flows)]
