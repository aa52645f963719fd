"""A UDP socket, as far as outcomes depend on it.

A socket is bound to a local address on its host and, when connected, to one remote address: it then
takes datagrams from that address only, and an ICMP port unreachable about one of its datagrams is
reported as ECONNREFUSED by its next call (Linux's ``sk_err`` on a connected UDP socket). An unconnected
socket (a server's) takes datagrams from anyone, hands each to its ``handler`` with the route it came
on, and ignores ICMP errors (Linux reports none without ``IP_RECVERR``). Datagrams are never lost,
duplicated or reordered by a host; middleboxes decide what is lost.
"""

from __future__ import annotations

import errno
from collections import deque
from collections.abc import Callable

import simpy

from natsim.errors import NatsimError
from natsim.report.schema import errno_name
from natsim.sim.explain import socket_error
from natsim.sim.network import Addr, Host, Route
from natsim.sim.segment import ICMP, UDP, Segment
from natsim.sim.trace import Abort, Aborted

#: ``handler(socket, datagram, route, outbound)``: what an unconnected socket does with a datagram.
Handler = Callable[["UdpSocket", Segment, Route, bool], None]


class UdpError(NatsimError):
    """What a socket call reports: the :class:`~natsim.sim.trace.Aborted` event (ECONNREFUSED)."""

    def __init__(self, event: Aborted) -> None:
        self.event = event
        self.errno = event.errno
        super().__init__(event)

    @property
    def name(self) -> str:
        """The errno's name, ``'ECONNREFUSED'``."""
        return errno_name(self.errno)

    def __str__(self) -> str:
        return socket_error(self.event)


class UdpSocket:
    """A UDP socket on ``host`` at ``local``; connected to ``remote`` over ``route`` (from the client
    side when ``outbound``), or unconnected with a ``handler``."""

    def __init__(self, host: Host, local: Addr, *, remote: Addr | None = None, route: Route | None = None,
                 conn: str = "", outbound: bool = True, handler: Handler | None = None) -> None:
        if (remote is None) == (handler is None):
            raise ValueError("a UDP socket is connected (remote) or serves (handler), not both or neither")
        self.env: simpy.Environment = host.env
        self.host = host
        self.local = local
        self.remote = remote
        self.route = route
        self.conn = conn
        self.outbound = outbound
        self.handler = handler
        self.error: UdpError | None = None
        self.rx: deque[tuple[bytes, Addr]] = deque()
        self._readers: deque[simpy.Event] = deque()
        host.datagrams[(local, remote)] = self

    def send(self, payload: bytes, *, to: Addr | None = None, route: Route | None = None,
             outbound: bool | None = None, conn: str | None = None) -> None:
        """Send one datagram (an unconnected socket names ``to``, ``route`` and ``outbound``); a pending
        error is raised instead, and cleared, as Linux does."""
        self._raise_pending()
        dst = to if to is not None else self.remote
        path = route if route is not None else self.route
        if dst is None or path is None:
            raise ValueError("an unconnected socket needs a destination and a route")
        seg = Segment(self.local, dst, "", conn if conn is not None else self.conn, protocol=UDP,
                      payload=payload)
        path.send(seg, self.outbound if outbound is None else outbound)

    def recv(self) -> simpy.Event:
        """Succeeds with the next (payload, source); fails with :class:`UdpError` for a pending error."""
        event = self.env.event()
        if self.error is not None:
            error, self.error = self.error, None
            event.defused = True
            event.fail(error)
        elif self.rx:
            event.succeed(self.rx.popleft())
        else:
            self._readers.append(event)
        return event

    def on_datagram(self, seg: Segment, route: Route, outbound: bool) -> None:
        """A datagram or an ICMP error addressed to this socket."""
        if seg.protocol == ICMP:
            if self.remote is not None:
                self._refused(seg)
            return
        if self.handler is not None:
            self.handler(self, seg, route, outbound)
            return
        reader = self._next_reader()
        if reader is not None:
            reader.succeed((seg.payload, seg.src))
        else:
            self.rx.append((seg.payload, seg.src))

    def close(self) -> None:
        """Unbind: later datagrams to this address meet the host's stack (ICMP port unreachable)."""
        if self.host.datagrams.get((self.local, self.remote)) is self:
            del self.host.datagrams[(self.local, self.remote)]

    def _refused(self, seg: Segment) -> None:
        event = Aborted(self.env.now, self.host.name, self.conn, errno.ECONNREFUSED, Abort.ICMP,
                        peer=seg.src[0])
        self.host.trace.record(event)
        error = UdpError(event)
        reader = self._next_reader()
        if reader is not None:
            reader.defused = True
            reader.fail(error)
        else:
            self.error = error

    def _next_reader(self) -> simpy.Event | None:
        while self._readers:
            reader = self._readers.popleft()
            if not reader.triggered:
                return reader
        return None

    def _raise_pending(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error
