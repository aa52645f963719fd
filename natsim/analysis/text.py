"""Plain-text rendering of an :class:`~natsim.analysis.analyze.Analysis`."""

from __future__ import annotations

from collections import Counter

from natsim.analysis.analyze import Analysis, ConnectionReport
from natsim.analysis.events import Event
from natsim.analysis.overview import overview, render_overview
from natsim.analysis.segments import Segment
from natsim.analysis.ssh import KEXINIT_LISTS, SshSide
from natsim.units import format_duration

#: Printed under the connections when a ``real`` time includes a timer the lab does not scale.
UNSCALED_NOTE = ("real A+B: A is the real-world time of the last packet sent at a scaled time, B the delay "
                 "of a kernel timer the lab does not scale (TCP's retransmission timer), the same in the "
                 "real world")


def real_time(event: Event, scale: float) -> str:
    """The real-world time of ``event``: ``1h`` (scaled), ``1h+600ms`` (an unscaled timer's delay
    after a scaled time), ``""`` without a time scale."""
    if scale == 1.0:
        return ""
    if event.anchor is None:
        return format_duration(round(event.time * scale, 3))
    return f"{format_duration(round(event.anchor * scale, 3))}+{format_duration(event.time - event.anchor)}"


def render_connection(report: ConnectionReport, scale: float, name: str = "") -> list[str]:
    """Lines for one connection: header (``name``: the probe connection it is), outcome, event table,
    SSH lists."""
    conn = report.connection
    protocol = " udp" if conn.protocol == "udp" else ""
    lines = [f"{name or conn.id}{protocol}  {conn.initiator} → {conn.responder}   {report.outcome}"]
    for link, (a, b) in conn.endpoints.items():
        lines.append(f"    on {link:<12} {a} → {b}")
    c_i, c_r = report.counters["initiator"], report.counters["responder"]
    tcp = (f"retransmissions {c_i.retransmissions}/{c_r.retransmissions}  "
           f"keepalives {c_i.keepalives}/{c_r.keepalives}  " if conn.protocol == "tcp" else "")
    lines.append(f"    packets {c_i.packets}/{c_r.packets}  bytes {c_i.bytes}/{c_r.bytes}  {tcp}"
                 "(initiator/responder)")
    header = f"    {'time(s)':>9} {'real' if scale != 1.0 else '':>12}  {'event':<15}{'by':<9}{'at':<8}detail"
    lines.append(header)
    for e in report.events:
        lines.append(f"    {e.time:9.3f} {real_time(e, scale):>12}  {e.kind:<15}{e.by:<9}{e.at:<8}{e.detail}")
    if report.ssh is not None:
        for label, side in (("client", report.ssh.client), ("server", report.ssh.server)):
            lines.extend(_ssh_side(label, side))
    return lines


def _ssh_side(label: str, side: SshSide) -> list[str]:
    lines = [f"    SSH offered by {label}: {side.banner or '(no banner)'}"]
    if side.error:
        lines.append(f"      ({side.error})")
    for name in KEXINIT_LISTS:
        if name in side.kexinit:
            lines.append(f"      {name:<30} {','.join(side.kexinit[name]) or '-'}")
    return lines


def _counts(segments: list[Segment]) -> str:
    """``'12 TCP segments'``, ``'12 TCP segments, 4 UDP datagrams, 1 ICMP error'``."""
    names = {"tcp": "TCP segment", "udp": "UDP datagram", "icmp": "ICMP error"}
    counts = Counter(s.protocol for s in segments)
    parts = [f"{counts[p]} {name}{'' if counts[p] == 1 else 's'}" for p, name in names.items()
             if counts[p] or p == "tcp"]
    return ", ".join(parts)


def render_text(analysis: Analysis) -> str:
    """The whole analysis as text."""
    cap = analysis.capture
    lines = [f"capture {cap.directory}  time_scale {cap.time_scale:g}"
             + (f"  path {' — '.join(cap.path)}" if cap.path else "")]
    for link in cap.links:
        note = f"  ({link.note})" if link.note else ""
        lines.append(f"  link {link.name:<12} {link.left} — {link.right}: "
                     f"{_counts(link.segments)}{note}")
    if not analysis.connections:
        lines.append("no TCP connections or UDP flows")
        return "\n".join(lines) + "\n"
    lines.extend(render_overview(overview(analysis)))
    for report in analysis.connections:
        lines.append("")
        lines.extend(render_connection(report, cap.time_scale, analysis.name(report)))
    if cap.time_scale != 1.0 and any(e.anchor is not None for r in analysis.connections for e in r.events):
        lines.extend(["", UNSCALED_NOTE])
    return "\n".join(lines) + "\n"
