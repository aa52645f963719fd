"""Segments, routes through middleboxes, hosts with their sockets, and the event trace.

A :class:`Route` is one client host, the middlebox models along the path and one server host.
A segment crosses every middlebox in order with no delay (the lab's sub-millisecond links are far
below every timer that matters) and is then delivered to the far host by a zero-delay simpy event,
so handlers never run inside each other. Middleboxes answer with :class:`Forward`, :class:`Drop`
or :class:`Answer` (a segment sent back towards the sender, e.g. an RST).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import simpy

Addr = tuple[str, int]


@dataclass(frozen=True)
class Segment:
    """A TCP segment as far as middleboxes and endpoints care.

    ``flags`` is a string of ``S`` (SYN), ``A`` (ACK), ``F`` (FIN), ``R`` (RST), ``P`` (data);
    ``seq`` numbers data segments 1, 2, ...; ``ack`` is the last data segment received.
    """

    src: Addr
    dst: Addr
    flags: str
    conn: str
    seq: int = 0
    ack: int = 0
    data: str = ""
    keepalive: bool = False

    def what(self) -> str:
        """Short description for traces: ``SYN``, ``data``, ``keepalive probe``, ``ACK``, ..."""
        if "R" in self.flags:
            return "RST"
        if self.flags == "S":
            return "SYN"
        if self.flags == "SA":
            return "SYN-ACK"
        if self.keepalive:
            return "keepalive probe"
        if self.data:
            return "data segment" + (" with FIN" if "F" in self.flags else "")
        if "F" in self.flags:
            return "FIN"
        return "ACK"

    def with_src(self, src: Addr) -> Segment:
        """Copy with a rewritten source (SNAT)."""
        return Segment(src, self.dst, self.flags, self.conn, self.seq, self.ack, self.data, self.keepalive)

    def with_dst(self, dst: Addr) -> Segment:
        """Copy with a rewritten destination (reverse NAT)."""
        return Segment(self.src, dst, self.flags, self.conn, self.seq, self.ack, self.data, self.keepalive)


@dataclass(frozen=True)
class Forward:
    """Pass the (possibly rewritten) segment on; ``note`` explains anything unusual."""

    segment: Segment
    note: str = ""


@dataclass(frozen=True)
class Drop:
    """Discard the segment silently."""

    reason: str


@dataclass(frozen=True)
class Answer:
    """Discard the segment and send ``segment`` back towards its sender."""

    segment: Segment
    reason: str


Action = Forward | Drop | Answer


class MiddleboxModel(Protocol):
    """The simulated behaviour of one middlebox node."""

    name: str

    def handle(self, seg: Segment, outbound: bool, now: float) -> Action:
        """Decide what happens to ``seg`` arriving from the inside (``outbound``) or the outside."""
        ...


@runtime_checkable
class ConnectionTracker(Protocol):
    """A middlebox model that forgets idle connections (an optional ability, declared by subclassing)."""

    @property
    def established_timeout(self) -> float:
        """Idle timeout of an established connection (real-world seconds)."""
        ...


@dataclass(frozen=True)
class Note:
    """Something a connection's verdict may depend on."""

    time: float
    node: str
    conn: str
    text: str


@dataclass
class Trace:
    """Notes per connection (always) and every hop (when ``packets`` is set, for tests)."""

    packets: bool = False
    notes: list[Note] = field(default_factory=list)
    log: list[tuple[float, str, str, str]] = field(default_factory=list)
    by_conn: dict[str, list[Note]] = field(default_factory=dict)

    def note(self, time: float, node: str, conn: str, text: str) -> None:
        """Record an event that explains a verdict."""
        note = Note(time, node, conn, text)
        self.notes.append(note)
        self.by_conn.setdefault(conn, []).append(note)
        if self.packets:
            self.log.append((time, node, conn, text))

    def hop(self, time: float, node: str, conn: str, text: str) -> None:
        """Record a routine hop (only with ``packets``)."""
        if self.packets:
            self.log.append((time, node, conn, text))

    def for_conn(self, conn: str, since: float = float("-inf")) -> list[Note]:
        """Notes about ``conn`` at or after ``since``."""
        return [n for n in self.by_conn.get(conn, ()) if n.time >= since]


class Endpoint(Protocol):
    """A connection's end on a host (``natsim.sim.tcp_endpoint.Socket``): it takes its segments."""

    def on_segment(self, seg: Segment) -> None:
        """Handle a segment addressed to this endpoint."""
        ...



class Host:
    """An end host: sockets by (local, remote) address and listening ports."""

    def __init__(self, env: simpy.Environment, name: str, trace: Trace) -> None:
        self.env = env
        self.name = name
        self.trace = trace
        self.sockets: dict[tuple[Addr, Addr], Endpoint] = {}
        self.listeners: dict[int, Callable[[Segment, Route], Endpoint]] = {}

    def receive(self, seg: Segment, route: Route, outbound: bool) -> None:
        """Deliver ``seg``; with no socket for it, answer RST as a Linux stack does."""
        sock = self.sockets.get((seg.dst, seg.src))
        if sock is not None:
            sock.on_segment(seg)
            return
        if seg.flags == "S" and seg.dst[1] in self.listeners:
            self.listeners[seg.dst[1]](seg, route).on_segment(seg)
            return
        if "R" in seg.flags:
            return
        self.trace.note(self.env.now, self.name, seg.conn,
                        f"{self.name} has no socket for {seg.src[0]}:{seg.src[1]} -> :{seg.dst[1]}; "
                        f"its stack answers the {seg.what()} with RST")
        rst = Segment(seg.dst, seg.src, "R", seg.conn)
        route.send(rst, not outbound)


class Route:
    """The path between one client host and one server host through ``middleboxes``."""

    def __init__(self, env: simpy.Environment, client: Host, middleboxes: list[MiddleboxModel],
                 server: Host, trace: Trace) -> None:
        self.env = env
        self.client = client
        self.server = server
        self.middleboxes = middleboxes
        self.trace = trace

    def send(self, seg: Segment, outbound: bool, start: int | None = None) -> None:
        """Send ``seg`` from the client side (``outbound``) or the server side, starting at hop ``start``."""
        n = len(self.middleboxes)
        if start is None:
            start = 0 if outbound else n - 1
        positions = range(start, n) if outbound else range(start, -1, -1)
        now = self.env.now
        for i in positions:
            box = self.middleboxes[i]
            action = box.handle(seg, outbound, now)
            if isinstance(action, Forward):
                if action.note:
                    self.trace.note(now, box.name, seg.conn, action.note)
                elif self.trace.packets:
                    self.trace.hop(now, box.name, seg.conn, f"{seg.what()} forwarded")
                seg = action.segment
            elif isinstance(action, Drop):
                self.trace.note(now, box.name, seg.conn, action.reason)
                return
            else:
                self.trace.note(now, box.name, seg.conn, action.reason)
                self.send(action.segment, not outbound, i - 1 if outbound else i + 1)
                return
        host = self.server if outbound else self.client
        event = self.env.timeout(0)
        event.callbacks.append(lambda _: host.receive(seg, self, outbound))
