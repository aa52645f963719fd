"""The rendezvous of hole punching (``natsim serve --rendezvous``): who registered in which session.

:class:`Rendezvous` is pure (datagram and source in, datagrams out): a REGISTER from a source joins its
session (at most two members: a third source replaces the older one, e.g. a peer that came back with
another mapping); it is answered WAIT (the source as the rendezvous saw it) while the session has one
member, PEER (the source, and the other member's) once it has two. When the second member joins, the
first is sent its PEER at once, to the source it registered from. Every answer is the size of a
REGISTER; nothing else is answered. Sessions idle for :data:`SESSION_TTL` seconds are forgotten, and at
most :data:`MAX_SESSIONS` are kept (the oldest goes first). :class:`RendezvousService` runs it on a UDP
socket; the model runs the same class (:mod:`.model`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from natsim.errors import ProbeError
from natsim.probes.punch.messages import RENDEZVOUS_PORT, Address, BadMessage, Message, Op, parse, show

log = logging.getLogger("natsim.serve")

#: Seconds a session lives after its last REGISTER.
SESSION_TTL = 120.0
#: Sessions kept at most.
MAX_SESSIONS = 4096


@dataclass
class Session:
    """Up to two members (observed sources), and when one last registered."""

    members: list[Address] = field(default_factory=list)
    seen: float = 0.0


@dataclass
class Rendezvous:
    """The sessions and the answers (pure; ``clock``: monotonic seconds)."""

    clock: Callable[[], float] = time.monotonic
    sessions: OrderedDict[int, Session] = field(default_factory=OrderedDict)

    def received(self, data: bytes, source: Address) -> list[tuple[bytes, Address]]:
        """What to send, and to whom, for ``data`` from ``source`` (empty: nothing)."""
        try:
            message = parse(data)
        except BadMessage:
            return []
        if message.op is not Op.REGISTER:
            return []
        now = self.clock()
        self._expire(now)
        session = self.sessions.pop(message.session, None) or Session()
        self.sessions[message.session] = session          # the most recent last
        session.seen = now
        joined = source not in session.members
        if joined:
            session.members = [*session.members[-1:], source]
        while len(self.sessions) > MAX_SESSIONS:
            self.sessions.popitem(last=False)
        if len(session.members) < 2:
            return [(Message(Op.WAIT, message.session, message.seq, observed=source).encode(), source)]
        other = session.members[0] if session.members[1] == source else session.members[1]
        out = [(Message(Op.PEER, message.session, message.seq, observed=source, peer=other).encode(), source)]
        if joined:
            out.append((Message(Op.PEER, message.session, 0, observed=other, peer=source).encode(), other))
        return out

    def _expire(self, now: float) -> None:
        for key in [k for k, s in self.sessions.items() if now - s.seen >= SESSION_TTL]:
            del self.sessions[key]


@dataclass(frozen=True)
class RendezvousConfig:
    """Where the rendezvous listens (port 0: a free one)."""

    bind: str = "0.0.0.0"
    port: int = RENDEZVOUS_PORT

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ProbeError(f"--rendezvous-port must be 0..65535, got {self.port}")


class RendezvousService(asyncio.DatagramProtocol):
    """:class:`Rendezvous` on a UDP socket; one log line per answer."""

    def __init__(self) -> None:
        self.rendezvous = Rendezvous()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        source = (str(addr[0]), int(addr[1]))
        answers = self.rendezvous.received(data, source)
        if not answers:
            log.debug("rendezvous %s ignored %d bytes", show(source), len(data))
        for reply, to in answers:
            if self.transport is not None and not self.transport.is_closing():
                self.transport.sendto(reply, to)
                log.info("rendezvous %s -> %s: %s", show(source), show(to), Op(reply[4]).name)

    def error_received(self, exc: Exception) -> None:
        log.debug("rendezvous socket error %s", exc)

    @property
    def port(self) -> int:
        """The port it is bound to."""
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def close(self) -> None:
        """Close the socket."""
        if self.transport is not None:
            self.transport.close()


async def start_rendezvous(config: RendezvousConfig) -> RendezvousService:
    """Bind the rendezvous service."""
    loop = asyncio.get_running_loop()
    try:
        transport, service = await loop.create_datagram_endpoint(RendezvousService,
                                                                 local_addr=(config.bind, config.port))
    except OSError as err:
        raise ProbeError(f"cannot bind the rendezvous to UDP {config.bind}:{config.port}: {err}") from err
    service.connection_made(transport)
    log.info("listening: rendezvous udp %s:%d", config.bind, service.port)
    return service
