"""What happened in a simulation, as typed events: the model's trace (:class:`Trace`).

Middlebox models and endpoints record these instead of sentences; every English explanation natsim
shows (``ConnectionResult.explanation``, ``natsim predict``) is rendered from them in one place,
:mod:`natsim.sim.explain`, and tests assert the events themselves.

A packet event names its node, its time and the segment it concerns (the connection, the tuple, the
flags, the protocol). Why a packet was
refused is one of the closed set :class:`Reason`. A ``routine`` event (a mapping made, a hop) is part
of the trace but never of an explanation.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from natsim.sim.segment import Addr, Segment


class Reason(enum.StrEnum):
    """Why a node refused a packet (dropped it, or answered it with RST or ICMP)."""

    UNTRACKED = "untracked"    # no known connection; the middlebox's untracked policy refuses it
    INVALID = "invalid"        # a FIN/RST/SYN-ACK of no known connection: conntrack calls it invalid
    EXHAUSTED = "exhausted"    # the subscriber already holds every mapping it may
    FILTERED = "filtered"      # a filter rule refuses it (e.g. an inbound allow-list)
    NO_MAPPING = "no-mapping"  # nothing to translate it back to: it reaches the NAT's own stack
    NO_SOCKET = "no-socket"    # the host has no socket for it: its stack answers


@dataclass(frozen=True)
class Event:
    """Something that happened at ``node`` at ``time`` to connection ``conn``."""

    time: float
    node: str
    conn: str

    #: part of the trace, never of an explanation (mappings made, packets passed)
    routine: ClassVar[bool] = False


@dataclass(frozen=True)
class PacketEvent(Event):
    """An event about one segment crossing ``node`` (``outbound``: from the inside)."""

    segment: Segment
    outbound: bool

    @classmethod
    def at(cls, time: float, node: str, segment: Segment, outbound: bool, **fields: Any) -> Self:
        """The event at ``node`` and ``time`` about ``segment`` (its connection is the segment's)."""
        return cls(time, node, segment.conn, segment, outbound, **fields)

    @property
    def tuple(self) -> tuple[Addr, Addr]:
        """(source, destination) of the segment as it arrived."""
        return (self.segment.src, self.segment.dst)

    @property
    def direction(self) -> str:
        """``outbound`` or ``inbound``."""
        return "outbound" if self.outbound else "inbound"


# ---- the state of a middlebox ------------------------------------------------------------------

@dataclass(frozen=True)
class Mapped(PacketEvent):
    """A NAT mapped a new connection's source to ``public``."""

    public: Addr
    routine: ClassVar[bool] = True


@dataclass(frozen=True)
class Balanced(PacketEvent):
    """A load balancer sent a new connection to its virtual IP on to ``backend``."""

    backend: Addr
    routine: ClassVar[bool] = True


@dataclass(frozen=True)
class Forwarded(PacketEvent):
    """A segment of a known connection passed and refreshed its entry (recorded with ``packets``)."""

    routine: ClassVar[bool] = True


@dataclass(frozen=True)
class Expired(PacketEvent):
    """The segment found its connection's entry expired: idle ``idle`` ≥ the ``state`` timeout."""

    state: str
    idle: float
    timeout: float


@dataclass(frozen=True)
class Unknown(PacketEvent):
    """The segment belongs to no entry the node holds (never had one, or it was removed)."""


# ---- what a node did with a segment of no known connection ---------------------------------------

@dataclass(frozen=True)
class Dropped(PacketEvent):
    """The segment was discarded silently; ``limit``: the mapping limit that was reached."""

    reason: Reason
    limit: int | None = None


@dataclass(frozen=True)
class Reset(PacketEvent):
    """The segment was discarded and answered with RST towards its sender."""

    reason: Reason


@dataclass(frozen=True)
class Unreachable(PacketEvent):
    """A UDP datagram was discarded and answered with ICMP port unreachable towards its sender (a
    host's stack with no socket for it, or a NAT's own stack when it has no mapping)."""

    reason: Reason


@dataclass(frozen=True)
class ResetAtExpiry(PacketEvent):
    """The node's entry expired and it sent RST to both ends: ``segment`` is the RST to the client,
    ``peer`` the other end (where the second RST went)."""

    peer: Addr


@dataclass(frozen=True)
class PickedUp(PacketEvent):
    """A new entry was created mid-stream (loose tracking); ``public``: where a NAT re-mapped it."""

    public: Addr | None = None


@dataclass(frozen=True)
class Passed(PacketEvent):
    """The segment passed without an entry (a bridge cannot pick up a FIN/RST: ``reason`` invalid)."""

    reason: Reason


# ---- endpoints -----------------------------------------------------------------------------------

class Abort(enum.StrEnum):
    """Why an endpoint gave up on its connection (or, UDP, what its socket reported)."""

    RST = "rst"                    # an RST arrived
    RETRANSMISSIONS = "rtx"        # unacknowledged data past tcp_retries2 / TCP_USER_TIMEOUT
    KEEPALIVE = "keepalive"        # every keepalive probe went unanswered
    CONNECT = "connect"            # no SYN-ACK before the SYN retries ran out
    ICMP = "icmp"                  # UDP: an ICMP port unreachable arrived about the flow


@dataclass(frozen=True)
class Aborted(Event):
    """An endpoint's connection ended with ``errno`` (a number of :mod:`errno`).

    ``peer``: who sent the RST (:attr:`Abort.RST`) or the ICMP error (:attr:`Abort.ICMP`); ``count``:
    retransmissions or keepalive probes sent; ``after``: the give-up time or the keepalive idle;
    ``interval``: between keepalive probes.
    """

    errno: int
    cause: Abort
    peer: str = ""
    count: int = 0
    after: float = 0.0
    interval: float = 0.0


# ---- L7 interception (per login attempt) --------------------------------------------------------

@dataclass(frozen=True)
class LoginEvent(Event):
    """What an intercepting middlebox did with one login attempt from ``client`` to
    ``server``:``port``."""

    client: str
    server: str
    port: int


@dataclass(frozen=True)
class NotIntercepted(LoginEvent):
    """The port is not one the middlebox intercepts."""


@dataclass(frozen=True)
class Bypassed(LoginEvent):
    """The tuple is in the middlebox's bypass set until ``until``."""

    until: float


@dataclass(frozen=True)
class Intercepted(LoginEvent):
    """The middlebox terminated the session and agreed on ``kex`` with the backend."""

    kex: str


@dataclass(frozen=True)
class Cut(LoginEvent):
    """No key exchange in common with the backend: FIN to the client, tuple bypassed for ``bypass``."""

    offered: tuple[str, ...]
    bypass: float


@dataclass
class Trace:
    """Every event per connection, in order. Segments passing without anything happening are recorded
    (as :class:`Forwarded`) only with ``packets``, for tests."""

    packets: bool = False
    events: list[Event] = field(default_factory=list)
    by_conn: dict[str, list[Event]] = field(default_factory=dict)

    def record(self, *events: Event) -> None:
        """Add ``events`` to the trace."""
        for event in events:
            self.events.append(event)
            self.by_conn.setdefault(event.conn, []).append(event)

    def of(self, conn: str, since: float = float("-inf")) -> list[Event]:
        """Events of ``conn`` at or after ``since``."""
        return [e for e in self.by_conn.get(conn, ()) if e.time >= since]
