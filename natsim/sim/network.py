"""Segments, routes through middleboxes, hosts with their sockets, and the event trace.

A :class:`Route` is one client host, the middlebox models along the path and one server host.
A segment crosses every middlebox in order with no delay (the lab's sub-millisecond links are far
below every timer that matters) and is then delivered to the far host by a zero-delay simpy event,
so handlers never run inside each other. Middleboxes answer with :class:`Forward`, :class:`Drop`
or :class:`Answer` (a segment sent back towards the sender, e.g. an RST), each carrying the typed
events (:mod:`natsim.sim.trace`) that say what happened; the :class:`Trace` keeps them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import simpy

from natsim.sim.segment import ICMP, TCP, Addr, Segment, unreachable
from natsim.sim.trace import Event, Forwarded, Reason, Reset, Trace, Unreachable
from natsim.sim.wheel import TimerWheel

__all__ = ["Action", "Addr", "Addressed", "Answer", "ConnectionTracker", "DatagramTracker", "Drop", "Emit",
           "Forward", "Host", "MiddleboxModel", "Route", "Segment", "Sided", "Timed", "Trace"]

@dataclass(frozen=True)
class Forward:
    """Pass the (possibly rewritten) segment on; ``events``: what the node did beyond passing it."""

    segment: Segment
    events: tuple[Event, ...] = ()


@dataclass(frozen=True)
class Drop:
    """Discard the segment silently; ``events`` say why (the last: :class:`~natsim.sim.trace.Dropped`)."""

    events: tuple[Event, ...]


@dataclass(frozen=True)
class Answer:
    """Discard the segment and send ``segment`` back towards its sender (e.g. an RST); ``events`` say why."""

    segment: Segment
    events: tuple[Event, ...]


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


@runtime_checkable
class DatagramTracker(Protocol):
    """A middlebox model that forgets idle UDP flows (an optional ability, declared by subclassing)."""

    @property
    def udp_timeouts(self) -> tuple[float, float]:
        """(unreplied, stream) UDP idle timeouts (real-world seconds)."""
        ...


@runtime_checkable
class Addressed(Protocol):
    """A middlebox model that needs its node's own address (an optional ability, declared by
    subclassing): the world tells it before any segment arrives."""

    def place(self, address: str) -> None:
        """Take ``address``: the node's address as the topology gives it (its name when it has none)."""
        ...


@runtime_checkable
class Sided(Protocol):
    """A middlebox model with an inside and an outside (a NAT), whose ``outbound`` means "from its
    inside" (an optional ability, declared by subclassing). A route whose client is not behind it (a peer
    behind another NAT reaching this one's public address) crosses it turned round: what goes towards
    the route's server enters it from its outside."""

    def behind(self, address: str) -> bool:
        """Whether a host at ``address`` is on its inside."""
        ...


@dataclass(frozen=True)
class Emit:
    """A segment a middlebox sends on its own (not in answer to one): ``outbound`` towards the server
    end of its connection's route, else towards the client; ``events`` say why."""

    segment: Segment
    outbound: bool
    events: tuple[Event, ...] = ()


@runtime_checkable
class Timed(Protocol):
    """A middlebox model that acts at times of its own choosing, e.g. sends RSTs when a flow expires
    (an optional ability, declared by subclassing). The world hands it ``wake``: calling ``wake(t)``
    makes the world call :meth:`act` at time ``t``; the segments it returns leave the node at once."""

    def attach(self, wake: Callable[[float], None]) -> None:
        """Keep ``wake`` (called once, before any segment)."""
        ...

    def act(self, now: float) -> Sequence[Emit]:
        """What the node sends now (it may call ``wake`` again for later)."""
        ...


class Endpoint(Protocol):
    """A connection's end on a host (``natsim.sim.tcp_endpoint.Socket``): it takes its segments."""

    def on_segment(self, seg: Segment) -> None:
        """Handle a segment addressed to this endpoint."""
        ...



class DatagramEndpoint(Protocol):
    """A UDP socket on a host (``natsim.sim.udp_endpoint.UdpSocket``): it takes its datagrams and the
    ICMP errors about the datagrams it sent."""

    def on_datagram(self, seg: Segment, route: Route, outbound: bool) -> None:
        """Handle a datagram (or ICMP error) for this socket, arrived over ``route``."""
        ...


class Host:
    """An end host at ``address``: TCP sockets by (local, remote) address, listening ports, and UDP
    sockets by (local, remote) address (remote None: unconnected)."""

    def __init__(self, env: simpy.Environment, name: str, trace: Trace, address: str | None = None) -> None:
        self.env = env
        self.name = name
        self.address = address or name
        self.trace = trace
        self.sockets: dict[tuple[Addr, Addr], Endpoint] = {}
        self.wheel = TimerWheel(env)   # the kernel's timer wheel (SYN retransmissions)
        self.listeners: dict[int, Callable[[Segment, Route], Endpoint]] = {}
        self.datagrams: dict[tuple[Addr, Addr | None], DatagramEndpoint] = {}

    def receive(self, seg: Segment, route: Route, outbound: bool) -> None:
        """Deliver ``seg``; with no socket for it, answer RST (TCP) or ICMP port unreachable (UDP) as a
        Linux stack does."""
        if seg.protocol != TCP:
            self.receive_datagram(seg, route, outbound)
            return
        sock = self.sockets.get((seg.dst, seg.src))
        if sock is not None:
            sock.on_segment(seg)
            return
        if seg.flags == "S" and seg.dst[1] in self.listeners:
            self.listeners[seg.dst[1]](seg, route).on_segment(seg)
            return
        if "R" in seg.flags:
            return
        self.trace.record(Reset.at(self.env.now, self.name, seg, outbound, reason=Reason.NO_SOCKET))
        rst = Segment(seg.dst, seg.src, "R", seg.conn)
        route.send(rst, not outbound)

    def receive_datagram(self, seg: Segment, route: Route, outbound: bool) -> None:
        """A datagram to its socket (connected to its source, else unconnected on its port); an ICMP
        error to the socket that sent the datagram it is about; a datagram for no socket is answered
        with ICMP port unreachable, an error for no socket ignored."""
        local, remote = seg.about if seg.protocol == ICMP and seg.about is not None else (seg.dst, seg.src)
        sock = self.datagrams.get((local, remote)) or self.datagrams.get((local, None))
        if sock is not None:
            sock.on_datagram(seg, route, outbound)
        elif seg.protocol != ICMP:
            self.trace.record(Unreachable.at(self.env.now, self.name, seg, outbound, reason=Reason.NO_SOCKET))
            route.send(unreachable(seg), not outbound)


class Route:
    """The path between one client host and one server host through ``middleboxes``; each crossed from
    the client's side as outbound, except a :class:`Sided` one the client is not behind (``turned``)."""

    def __init__(self, env: simpy.Environment, client: Host, middleboxes: list[MiddleboxModel],
                 server: Host, trace: Trace) -> None:
        self.env = env
        self.client = client
        self.server = server
        self.middleboxes = middleboxes
        self.trace = trace
        self.turned = [isinstance(m, Sided) and not m.behind(client.address) for m in middleboxes]

    def emit(self, box: object, seg: Segment, outbound: bool) -> None:
        """``seg`` leaves ``box`` towards the server (``outbound``) or the client, crossing the middleboxes
        beyond it; nothing when ``box`` is not on this route."""
        found = [i for i, m in enumerate(self.middleboxes) if m is box]
        if found:
            outbound = outbound != self.turned[found[0]]   # the box's own direction, in the route's terms
            self.send(seg, outbound, found[0] + 1 if outbound else found[0] - 1)

    def send(self, seg: Segment, outbound: bool, start: int | None = None) -> None:
        """Send ``seg`` from the client side (``outbound``) or the server side, starting at hop ``start``."""
        n = len(self.middleboxes)
        if start is None:
            start = 0 if outbound else n - 1
        positions = range(start, n) if outbound else range(start, -1, -1)
        now = self.env.now
        for i in positions:
            box = self.middleboxes[i]
            action = box.handle(seg, outbound != self.turned[i], now)
            if action.events:
                self.trace.record(*action.events)
            if isinstance(action, Forward):
                if self.trace.packets and not action.events:
                    self.trace.record(Forwarded.at(now, box.name, seg, outbound))
                seg = action.segment
            elif isinstance(action, Drop):
                return
            else:
                self.send(action.segment, not outbound, i - 1 if outbound else i + 1)
                return
        host = self.server if outbound else self.client
        event = self.env.timeout(0)
        event.callbacks.append(lambda _: host.receive(seg, self, outbound))
