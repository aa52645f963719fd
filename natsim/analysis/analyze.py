"""One call from a capture directory to the evidence: :func:`analyze_directory`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from natsim.analysis.capture_dir import CaptureDir, load_capture_dir
from natsim.analysis.connections import Connection, group_connections
from natsim.analysis.events import Counters, Event, connection_events
from natsim.analysis.segments import AnalysisError
from natsim.analysis.ssh import SshSummary, ssh_summary


@dataclass
class ConnectionReport:
    """The evidence for one connection."""

    connection: Connection
    events: list[Event]
    counters: dict[str, Counters]
    ssh: SshSummary | None
    outcome: str
    start: float
    end: float

    @property
    def id(self) -> str:
        """``c1``, ``c2``, … in order of the first packet."""
        return self.connection.id

    def drops(self) -> list[Event]:
        """The packets lost inside a middlebox."""
        return [e for e in self.events if e.kind == "drop"]

    def of_kind(self, kind: str) -> list[Event]:
        """Events of one kind."""
        return [e for e in self.events if e.kind == kind]


@dataclass
class Analysis:
    """All connections of a capture directory."""

    capture: CaptureDir
    connections: list[ConnectionReport] = field(default_factory=list)

    def connection(self, conn_id: str) -> ConnectionReport:
        """The connection ``conn_id`` (``c1`` or ``1``)."""
        wanted = conn_id if conn_id.startswith("c") else f"c{conn_id}"
        for report in self.connections:
            if report.id == wanted:
                return report
        known = ", ".join(r.id for r in self.connections) or "none"
        raise AnalysisError(f"no connection {conn_id!r} in {self.capture.directory} (connections: {known})")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; times are lab seconds since the first packet, ``time_scale`` converts."""
        cap = self.capture
        return {
            "directory": str(cap.directory),
            "time_scale": cap.time_scale,
            "path": cap.path,
            "links": [{"link": lk.name, "file": lk.file, "between": [lk.left, lk.right],
                       "segments": len(lk.segments), "cut": lk.cut, "note": lk.note} for lk in cap.links],
            "connections": [_connection_dict(r, cap.time_scale) for r in self.connections],
        }


def _connection_dict(report: ConnectionReport, scale: float) -> dict[str, Any]:
    conn = report.connection
    events = []
    for event in report.events:
        data = event.to_dict()
        data["time_real"] = round(event.time * scale, 3)
        events.append(data)
    return {
        "id": conn.id,
        "protocol": conn.protocol,
        "initiator": conn.initiator,
        "responder": conn.responder,
        "path": conn.path,
        "addresses": {link: {"initiator": a, "responder": b} for link, (a, b) in conn.endpoints.items()},
        "start": round(report.start, 6),
        "end": round(report.end, 6),
        "outcome": report.outcome,
        "counters": {side: vars(c) for side, c in report.counters.items()},
        "events": events,
        "ssh": report.ssh.to_dict() if report.ssh else None,
    }


def outcome(conn: Connection, events: list[Event]) -> str:
    """One line: how the connection ended as the capture shows it."""
    drops = [e for e in events if e.kind == "drop"]
    first_end = next((e for e in events if e.kind in ("fin", "rst", "icmp")), None)
    text = "open at the end of the capture"
    if conn.protocol == "udp":
        text = (f"{first_end.detail.split(' about ')[0]} from {first_end.by}" if first_end is not None
                else "UDP flow (no close in UDP)")
    elif any(e.kind == "syn-unanswered" for e in events):
        text = "handshake never completed"
    elif first_end is not None:
        verb = "reset" if first_end.kind == "rst" else "closed (FIN)"
        text = f"{verb} by {first_end.by}"
    if drops:
        places = sorted({e.at for e in drops})
        text += f"; {len(drops)} packet(s) lost at {', '.join(places)} (first at {drops[0].time:.3f} s)"
    return text


def analyze_capture(capture: CaptureDir, *, idle_threshold: float = 1.0) -> Analysis:
    """Analyse an already loaded capture directory."""
    analysis = Analysis(capture)
    start = capture.start
    for conn in group_connections(capture):
        events, counters = connection_events(conn, start, idle_threshold=idle_threshold)
        analysis.connections.append(ConnectionReport(
            conn, events, counters, ssh_summary(conn), outcome(conn, events),
            conn.start - start, conn.end - start))
    return analysis


def analyze_directory(directory: str | Path, *, idle_threshold: float = 1.0) -> Analysis:
    """Read ``directory`` (pcaps + ``capture.json``) and analyse every TCP connection and UDP flow in it.

    ``idle_threshold`` (lab seconds) is the shortest silence reported as an ``idle`` event.
    """
    return analyze_capture(load_capture_dir(directory), idle_threshold=idle_threshold)
