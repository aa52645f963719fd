"""The events that matter in one connection: handshake, FIN/RST and who sent them, drops and where,
keepalive probes and their fate, retransmissions, long idle periods; for a UDP flow, its datagrams'
drops and the ICMP errors about them (who sent them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from natsim.analysis.connections import Connection, Transit

_HALF = 1 << 31


def seq_after(a: int, b: int) -> bool:
    """``a`` is after ``b`` in 32-bit sequence space."""
    return a != b and ((a - b) & 0xFFFFFFFF) < _HALF


@dataclass
class Event:
    """One thing that happened to a connection, at ``time`` seconds after the capture started."""

    time: float
    kind: str
    by: str
    detail: str
    link: str = ""
    at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: when ``time`` was set by a kernel timer the lab does not scale (TCP's retransmission timer):
    #: the lab time of the packet it was timed from; ``None``: a scaled time
    anchor: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (times in lab seconds)."""
        data = asdict(self)
        data["time"] = round(self.time, 6)
        if self.anchor is not None:
            data["anchor"] = round(self.anchor, 6)
        return data

    def real(self, scale: float) -> float:
        """Real-world seconds since the capture started: the time scaled, or, for a time an unscaled
        timer set, the anchor's time scaled plus the timer's delay as it is (RTO is real time)."""
        if self.anchor is None:
            return self.time * scale
        return self.anchor * scale + (self.time - self.anchor)


@dataclass
class Counters:
    """Per-direction counts."""

    packets: int = 0
    bytes: int = 0
    retransmissions: int = 0
    keepalives: int = 0


def classify(conn: Connection) -> dict[tuple[str, int], str]:
    """Label each transit sent by an endpoint: ``data``, ``retransmission``, ``keepalive``, ``ack``...

    Keys are (link, index) of the transit's first segment.
    """
    labels: dict[tuple[str, int], str] = {}
    highest: dict[bool, int] = {}
    for transit in conn.transits:
        seg = transit.first
        key = (seg.link, seg.index)
        if seg.protocol != "tcp":
            labels[key] = "datagram" if seg.protocol == "udp" else "icmp"
            continue
        side = conn.from_initiator(transit)
        top = highest.get(side)
        if "R" in seg.flags:
            labels[key] = "rst"
        elif seg.flags == "S" or seg.flags == "SA":
            labels[key] = "retransmission" if top is not None and not seq_after(seg.seq_end, top) \
                else ("syn" if seg.flags == "S" else "syn-ack")
        elif (seg.length or "F" in seg.flags) and top is not None and not seq_after(seg.seq_end, top):
            labels[key] = "retransmission"
        elif seg.length <= 1 and seg.flags == "A" and top is not None and (seg.seq + 1) & 0xFFFFFFFF == top:
            labels[key] = "keepalive"
        elif "F" in seg.flags:
            labels[key] = "fin"
        elif seg.length:
            labels[key] = "data"
        else:
            labels[key] = "ack"
        if top is None or seq_after(seg.seq_end, top):
            highest[side] = seg.seq_end
    return labels


def _idle(since: float, since_anchor: float | None, until: float, rto: bool, start: float) -> Event:
    """The silence between two packets of a connection; ``rto``: it ended in a retransmission, so its
    length is a kernel timer the lab does not scale."""
    silence = until - since
    why = " (until a retransmission: a timer the lab does not scale)" if rto else ""
    return Event(since - start, "idle", "", f"no packet for {silence:.3f} s{why}",
                 extra={"seconds": round(silence, 6), "unscaled": rto}, anchor=since_anchor)


def _handshake(conn: Connection, syn: Transit, synack: Transit, ack: Transit, start: float) -> Event:
    return Event(syn.time - start, "handshake", conn.initiator,
                 f"SYN → SYN-ACK → ACK in {(ack.time - syn.time) * 1000:.3f} ms", link=syn.first.link,
                 extra={"rtt_ms": round((synack.time - syn.time) * 1000, 3)})


def connection_events(conn: Connection, start: float, *, idle_threshold: float = 1.0) -> tuple[
        list[Event], dict[str, Counters]]:
    """Events of ``conn`` in time order and per-side counters (keys: initiator, responder).

    A retransmission's time is set by TCP's retransmission timer, which the lab does not scale: its
    events carry the lab time of the last packet sent at a scaled time (``anchor``), so
    :meth:`Event.real` adds the timer's delay unscaled."""
    labels = classify(conn)
    counters = {"initiator": Counters(), "responder": Counters()}
    events: list[Event] = []
    syn = synack = None
    last: tuple[float, float | None] | None = None   # previous packet: time, anchor
    scaled_at = start   # the last packet sent at a time the lab scales (not a retransmission)
    keepalives: list[Transit] = []
    for transit in conn.transits:
        seg = transit.first
        label = labels[(seg.link, seg.index)]
        t = transit.time - start
        anchor = scaled_at - start if label == "retransmission" else None
        count = counters["initiator" if conn.from_initiator(transit) else "responder"]
        count.packets += 1
        count.bytes += seg.length
        if last is not None and transit.time - last[0] >= idle_threshold:
            events.append(_idle(last[0], last[1], transit.time, anchor is not None, start))
        last = (transit.time, anchor)
        if anchor is None:
            scaled_at = transit.time
        if label == "syn" and syn is None:
            syn = transit
        elif label == "syn-ack" and synack is None:
            synack = transit
        elif label == "ack" and syn is not None and synack is not None and \
                not any(e.kind == "handshake" for e in events):
            events.append(_handshake(conn, syn, synack, transit, start))
        if label == "retransmission":
            count.retransmissions += 1
            events.append(Event(t, "retransmission", transit.origin, seg.describe(), link=seg.link,
                                anchor=anchor))
        elif label == "keepalive":
            count.keepalives += 1
            keepalives.append(transit)
        elif label in ("fin", "rst", "icmp"):
            note = "" if transit.origin in (conn.initiator, conn.responder) else " (generated by a middlebox)"
            about = f" about a datagram to {seg.source}" if label == "icmp" else ""
            events.append(Event(t, label, transit.origin, seg.describe() + about + note, link=seg.link))
        leak = _untranslated(conn, transit)
        if leak is not None:
            events.append(Event(t, "untranslated", transit.origin, leak[1], link=leak[0], at=leak[2]))
        if transit.lost_at:
            events.append(Event(t, "drop", transit.origin,
                                f"{label} {seg.describe()} left {transit.hops[-1].link}, never came out of "
                                f"{transit.lost_at}", link=transit.hops[-1].link, at=transit.lost_at,
                                anchor=anchor))
    if syn is not None and synack is None:
        events.append(Event(syn.time - start, "syn-unanswered", conn.initiator, syn.first.describe(),
                            link=syn.first.link))
    events.extend(_keepalive_event(conn, probe, start) for probe in keepalives)
    events.sort(key=lambda e: e.time)
    return events, counters


def _untranslated(conn: Connection, transit: Transit) -> tuple[str, str, str] | None:
    """(link, detail, node) when ``transit`` crossed a node that translates this connection's other
    packets (a NAT) with its addresses unchanged — e.g. a mid-stream packet picked up without NAT."""
    for before, after in zip(transit.hops, transit.hops[1:], strict=False):
        if conn.endpoints.get(before.link) is None or conn.endpoints.get(after.link) is None:
            continue
        if set(conn.endpoints[before.link]) == set(conn.endpoints[after.link]):
            continue  # this hop translates nothing for this connection
        if (before.source, before.destination) == (after.source, after.destination):
            position = conn.positions.get(before.link)
            if position is None:
                return None
            node = conn.path[position + 1] if transit.rightward else conn.path[position]
            expected = " → ".join(conn.endpoints[after.link])
            return (after.link, f"{after.describe()} crossed {node} untranslated: {after.source} → "
                                f"{after.destination} on {after.link} (the connection is {expected} there)",
                    node)
    return None


def _keepalive_event(conn: Connection, probe: Transit, start: float) -> Event:
    """A keepalive probe and its fate: answered, lost (where), or unanswered by the peer."""
    expected_ack = (probe.first.seq + 1) & 0xFFFFFFFF
    answer = next((t for t in conn.transits if t.time >= probe.time and t.rightward != probe.rightward
                   and t.first.ack == expected_ack and not t.lost_at), None)
    if probe.lost_at:
        fate = f"lost at {probe.lost_at}"
    elif answer is not None:
        fate = f"answered after {(answer.hops[-1].time - probe.time) * 1000:.3f} ms"
    else:
        fate = "reached the peer, no answer came back"
    return Event(probe.time - start, "keepalive", probe.origin, f"{probe.first.describe()}: {fate}",
                 link=probe.first.link, at=probe.lost_at or "", extra={"fate": fate.split(" ")[0]})
