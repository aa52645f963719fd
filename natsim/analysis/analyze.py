"""One call from a capture directory to the evidence: :func:`analyze_directory`."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from natsim.analysis.capture_dir import CaptureDir, load_capture_dir
from natsim.analysis.connections import Connection, group_connections
from natsim.analysis.events import Counters, Event, connection_events
from natsim.analysis.naming import find_result, probe_names
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
    """All connections of a capture directory; ``names`` maps capture ids to the probe connections
    they are (``c191`` → ``send #59``, see :mod:`natsim.analysis.naming`)."""

    capture: CaptureDir
    connections: list[ConnectionReport] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)

    def name(self, report: ConnectionReport) -> str:
        """``send #59 (c191)``, or ``c191`` for a connection no probe accounts for."""
        probe = self.names.get(report.id)
        return f"{probe} ({report.id})" if probe else report.id

    def connection(self, conn_id: str) -> ConnectionReport:
        """The connection ``conn_id``: a capture id (``c191`` or ``191``) or a probe connection
        (``send #59``, ``send#59``). :class:`AnalysisError` with the closest ids otherwise."""
        wanted = conn_id.strip()
        wanted = f"c{wanted}" if wanted.isdigit() else wanted.replace(" ", "")
        for report in self.connections:
            if wanted in (report.id, _short(self.names.get(report.id, ""))):
                return report
        raise AnalysisError(self._unknown(conn_id))

    def _unknown(self, conn_id: str) -> str:
        """One line: the closest ids and what ids there are."""
        ids = [r.id for r in self.connections]
        probes = [short for i in ids if (short := _short(self.names.get(i, "")))]
        close = difflib.get_close_matches(conn_id.replace(" ", ""), ids + probes, n=3, cutoff=0.3)
        span = f"{ids[0]}..{ids[-1]}" if len(ids) > 1 else (ids[0] if ids else "none")
        text = f"no connection {conn_id!r} in {self.capture.directory}"
        if close:
            text += f" (closest: {', '.join(close)})"
        text += f"; it has {len(ids)} connections, {span}"
        if probes:
            text += ", or by probe connection, e.g. " + ", ".join(sorted(set(probes), key=probes.index)[:2])
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; times are lab seconds since the first packet, ``time_scale`` converts."""
        cap = self.capture
        return {
            "directory": str(cap.directory),
            "time_scale": cap.time_scale,
            "path": cap.path,
            "links": [{"link": lk.name, "file": lk.file, "between": [lk.left, lk.right],
                       "segments": len(lk.segments), "cut": lk.cut, "note": lk.note} for lk in cap.links],
            "connections": [_connection_dict(r, cap.time_scale, self.names.get(r.id))
                            for r in self.connections],
        }


def _short(name: str) -> str:
    """``send#59`` for the probe connection ``send #59`` (``""`` for one known only by its probe)."""
    probe, _, rest = name.partition(" ")
    index = rest.split(" ")[0]
    return f"{probe}{index}" if index.startswith("#") and index != "#?" else ""


def _connection_dict(report: ConnectionReport, scale: float, probe: str | None) -> dict[str, Any]:
    conn = report.connection
    events = []
    for event in report.events:
        data = event.to_dict()
        data["time_real"] = round(event.real(scale), 3)   # a retransmission's delay is not scaled
        events.append(data)
    return {
        "id": conn.id,
        "protocol": conn.protocol,
        "probe_connection": probe,
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
    """Read ``directory`` (pcaps + ``capture.json``) and analyse every TCP connection and UDP flow in it;
    with the run's ``result.json`` beside the capture, connections are named after their probe connections.

    ``idle_threshold`` (lab seconds) is the shortest silence reported as an ``idle`` event.
    """
    capture = load_capture_dir(directory)
    analysis = analyze_capture(capture, idle_threshold=idle_threshold)
    analysis.names = probe_names([r.connection for r in analysis.connections], find_result(capture.directory))
    return analysis
