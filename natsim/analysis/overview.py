"""The whole capture in a few lines, before the per-connection detail: how many connections (per
probe), how they ended, how many packets were lost at which middlebox, and the idle time before the
first loss beside the longest idle that lost nothing."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from natsim.analysis.analyze import Analysis, ConnectionReport
from natsim.units import format_duration


@dataclass(frozen=True)
class Silence:
    """An idle period of one connection, in real-world seconds."""

    seconds: float
    connection: str
    at: str = ""           # where the packet after it was lost


@dataclass
class Overview:
    """Counts over every connection of a capture."""

    connections: int = 0                   # TCP connections and UDP flows
    udp_flows: int = 0
    per_probe: Counter[str] = field(default_factory=Counter)
    endings: Counter[str] = field(default_factory=Counter)
    lost_packets: Counter[str] = field(default_factory=Counter)        # middlebox → packets
    lost_connections: Counter[str] = field(default_factory=Counter)    # middlebox → connections
    first_loss: Silence | None = None      # the shortest idle after which a packet was lost
    longest_clean: Silence | None = None   # the longest idle of a connection that lost nothing

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (idle times in real-world seconds)."""
        def silence(s: Silence | None) -> dict[str, Any] | None:
            return None if s is None else {"seconds": round(s.seconds, 3), "connection": s.connection,
                                           "lost_at": s.at or None}
        return {"connections": self.connections, "udp_flows": self.udp_flows,
                "per_probe": dict(self.per_probe),
                "endings": dict(self.endings),
                "lost": {box: {"packets": n, "connections": self.lost_connections[box]}
                         for box, n in self.lost_packets.items()},
                "first_loss_after_idle": silence(self.first_loss),
                "longest_idle_without_loss": silence(self.longest_clean)}


def _silence_before_loss(report: ConnectionReport, scale: float, name: str) -> Silence | None:
    transits = report.connection.transits
    lost = next((k for k, t in enumerate(transits) if t.lost_at), None)
    if not lost:   # none, or the very first packet (no idle before it)
        return None
    gap = transits[lost].time - transits[lost - 1].time
    first_drop = report.drops()[0]
    real = gap if first_drop.anchor is not None else gap * scale   # a retransmission's wait is unscaled
    return Silence(real, name, transits[lost].lost_at or "")


def _longest_gap(report: ConnectionReport, scale: float, name: str) -> Silence | None:
    times = [t.time for t in report.connection.transits]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    return Silence(max(gaps) * scale, name) if gaps else None


def overview(analysis: Analysis) -> Overview:
    """Count over every connection of ``analysis``."""
    scale = analysis.capture.time_scale
    result = Overview(connections=len(analysis.connections),
                      udp_flows=sum(r.connection.protocol == "udp" for r in analysis.connections))
    for report in analysis.connections:
        name = analysis.name(report)
        probe = analysis.names.get(report.id)
        if analysis.names:
            result.per_probe[probe.split(" #")[0] if probe else "no probe's"] += 1
        result.endings[report.outcome.split(";")[0]] += 1
        drops = report.drops()
        for box in {d.at for d in drops}:
            result.lost_connections[box] += 1
        result.lost_packets.update(d.at for d in drops)
        if drops:
            before = _silence_before_loss(report, scale, name)
            if before is not None and (not result.first_loss or before.seconds < result.first_loss.seconds):
                result.first_loss = before
        else:
            gap = _longest_gap(report, scale, name)
            if gap is not None and (not result.longest_clean or gap.seconds > result.longest_clean.seconds):
                result.longest_clean = gap
    return result


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def render_overview(summary: Overview) -> list[str]:
    """The summary lines of ``natsim analyze``."""
    per_probe = ", ".join(f"{name} {n}" for name, n in summary.per_probe.items())
    tcp = summary.connections - summary.udp_flows
    counted = [_count(n, what) for n, what in ((tcp, "TCP connection"), (summary.udp_flows, "UDP flow"))
               if n or (what == "TCP connection" and not summary.udp_flows)]
    lines = [f"summary: {', '.join(counted)}" + (f" ({per_probe})" if per_probe else "")]
    if summary.endings:
        lines.append("  ended: " + "; ".join(f"{n} {how}" for how, n in summary.endings.most_common()))
    if summary.lost_packets:
        lines.append("  lost packets: " + "; ".join(
            f"{n} at {box} ({_count(summary.lost_connections[box], 'connection')})"
            for box, n in summary.lost_packets.most_common()))
    else:
        lines.append("  lost packets: none")
    if summary.first_loss is not None:
        first = summary.first_loss
        lines.append(f"  first loss after an idle of {format_duration(first.seconds)} "
                     f"({first.connection}, lost at {first.at})")
    if summary.longest_clean is not None:
        clean = summary.longest_clean
        lines.append(f"  longest idle without loss: {format_duration(clean.seconds)} ({clean.connection})")
    return lines


def analysis_document(analysis: Analysis) -> dict[str, Any]:
    """``natsim analyze --json``: the summary, then every connection (:meth:`Analysis.to_dict`)."""
    return {"summary": overview(analysis).to_dict(), **analysis.to_dict()}
