"""A conntrack table: entries with per-state idle timeouts, expired lazily on lookup.

Mirrors Linux ``nf_conntrack`` as far as verdicts depend on it: an entry is looked up by either
direction's tuple; every packet that passes refreshes it with its state's timeout; an entry whose
idle time is *equal to or above* its timeout has expired (``nf_ct_is_expired``). An entry created
mid-stream (``pickup``) uses the unacknowledged timeout until it has seen a reply.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from natsim.sim.segment import TCP

Tuple = tuple[tuple[str, int], tuple[str, int]]   # (source, destination)

ESTABLISHED = "established"
UNACKNOWLEDGED = "unacknowledged"
#: A UDP flow's two states: ``nf_conntrack_udp_timeout`` and ``nf_conntrack_udp_timeout_stream``.
UDP_UNREPLIED = "udp_unreplied"
UDP_STREAM = "udp_stream"


def reverse(t: Tuple) -> Tuple:
    """The tuple of the other direction."""
    return (t[1], t[0])


@dataclass
class Entry:
    """One tracked connection."""

    original: Tuple          # as the first packet arrived (before NAT)
    reply: Tuple             # what the reply direction looks like (after NAT)
    state: str
    created: float
    last: float
    timeout: float
    picked_up: bool = False
    seen_reply: bool = False
    fins: set[str] = field(default_factory=set)
    mapped_port: int | None = None
    local: bool = False      # the node's own stack is its far end (an unknown inbound packet to a NAT)
    protocol: str = TCP      # whose timeouts it takes (``tcp`` or ``udp``)

    def idle(self, now: float) -> float:
        """Seconds since the last packet refreshed this entry."""
        return now - self.last

    def expired(self, now: float) -> bool:
        """True when idle for its whole timeout (equality counts as expired)."""
        return now - self.last >= self.timeout


@dataclass(frozen=True)
class Expired:
    """What a lookup found instead of a live entry: the entry that had timed out."""

    state: str
    idle: float
    timeout: float


class ConntrackTable:
    """Entries by tuple, with timeouts per protocol and state in real-world seconds.

    :param timeouts: protocol → state → timeout; ``tcp`` must hold ``established`` and may hold
        ``unacknowledged`` and the transitory states (``syn_sent``, ``fin_wait``, ...); ``udp`` holds
        :data:`UDP_UNREPLIED` and :data:`UDP_STREAM`.
    """

    def __init__(self, timeouts: Mapping[str, Mapping[str, float]]) -> None:
        if ESTABLISHED not in timeouts.get(TCP, {}):
            raise ValueError("timeouts need a tcp 'established' value")
        for protocol, states in timeouts.items():
            for state, value in states.items():
                if value <= 0:
                    raise ValueError(f"timeout of {protocol} {state} must be positive, got {value}")
        self.timeouts = {protocol: dict(states) for protocol, states in timeouts.items()}
        self._by_tuple: dict[Tuple, tuple[Entry, bool]] = {}

    def __len__(self) -> int:
        return len({id(e) for e, _ in self._by_tuple.values()})

    def __iter__(self) -> Iterator[Entry]:
        seen: set[int] = set()
        for entry, _ in self._by_tuple.values():
            if id(entry) not in seen:
                seen.add(id(entry))
                yield entry

    def timeout_of(self, state: str, protocol: str = TCP) -> float:
        """The timeout of ``protocol``'s ``state`` (unknown transitory TCP states use ``established``)."""
        if protocol == TCP:
            tcp = self.timeouts[TCP]
            return tcp.get(state, tcp[ESTABLISHED])
        return self.timeouts[protocol][state]

    def lookup(self, t: Tuple, now: float) -> tuple[Entry | None, bool, Expired | None]:
        """Find the entry for a packet with tuple ``t``.

        Returns ``(entry, is_reply_direction, expired)``; an expired entry is removed and described
        in ``expired``.
        """
        found = self._by_tuple.get(t)
        if found is None:
            return None, False, None
        entry, is_reply = found
        if entry.expired(now):
            self.remove(entry)
            return None, False, Expired(entry.state, entry.idle(now), entry.timeout)
        return entry, is_reply, None

    def create(self, original: Tuple, reply: Tuple, state: str, now: float, *,
               picked_up: bool = False, mapped_port: int | None = None, local: bool = False,
               protocol: str = TCP) -> Entry:
        """Insert a new entry (replacing any stale one on the same tuples)."""
        for t in (original, reverse(reply)):
            old = self._by_tuple.get(t)
            if old is not None:
                self.remove(old[0])
        entry = Entry(original, reply, state, now, now, self.timeout_of(state, protocol),
                      picked_up=picked_up, mapped_port=mapped_port, local=local, protocol=protocol)
        self._by_tuple[original] = (entry, False)
        self._by_tuple[reply] = (entry, True)
        return entry

    def refresh(self, entry: Entry, now: float, state: str | None = None) -> None:
        """A packet passed: restart the idle clock, optionally in a new state."""
        if state is not None:
            entry.state = state
        entry.last = now
        timeout = self.timeout_of(entry.state, entry.protocol)
        if entry.state == ESTABLISHED and entry.picked_up and not entry.seen_reply:
            timeout = min(timeout, self.timeouts[TCP].get(UNACKNOWLEDGED, timeout))
        entry.timeout = timeout

    def holds(self, entry: Entry) -> bool:
        """Whether ``entry`` is still in the table (not removed or replaced)."""
        found = self._by_tuple.get(entry.original)
        return found is not None and found[0] is entry

    def remove(self, entry: Entry) -> None:
        """Forget ``entry``."""
        for t in (entry.original, entry.reply):
            found = self._by_tuple.get(t)
            if found is not None and found[0] is entry:
                del self._by_tuple[t]

    def expire(self, now: float) -> list[Entry]:
        """Remove and return every entry expired at ``now`` (the kernel's garbage collector)."""
        gone = [e for e in self if e.expired(now)]
        for entry in gone:
            self.remove(entry)
        return gone


def track_udp(entry: Entry, now: float, stream_after: float) -> str:
    """The state a UDP packet refreshes ``entry`` with (``nf_conntrack_proto_udp.c``): the stream
    timeout once the flow has seen a reply and is older than ``stream_after``, else the unreplied
    one. Call it before marking the packet's own reply: the kernel sets SEEN_REPLY after."""
    if entry.seen_reply and now - entry.created > stream_after:
        return UDP_STREAM
    return UDP_UNREPLIED


def track_flags(entry: Entry, flags: str, is_reply: bool) -> str:
    """The state after a packet with TCP ``flags`` passes ``entry`` (simplified Linux state machine)."""
    side = "reply" if is_reply else "original"
    if "R" in flags:
        return "close"
    if "F" in flags:
        entry.fins.add(side)
        return "time_wait" if len(entry.fins) == 2 else "fin_wait"
    if entry.fins:
        return entry.state
    if flags == "S":
        return "syn_sent"
    if flags == "SA":
        return "syn_recv"
    if entry.state == "syn_recv" and not is_reply:
        return ESTABLISHED
    if entry.state in ("syn_sent", "syn_recv"):
        return entry.state
    return ESTABLISHED
