"""NAT44 models (``cgn``, ``home-router``): conntrack policy plus source NAT as Linux does it.

The render SNATs packets from the ``inside`` prefix (``ip saddr PREFIX``) to the ``pool`` (``snat to
FIRST-LAST persistent``; one address: ``masquerade``); packets from other sources pass untranslated.
The model follows Linux's ``nf_nat_core.c: get_unique_tuple`` for a source mapping:

1. a source (address, port) that already has a mapping keeps its public address and port
   (``find_appropriate_src``) when that gives a unique tuple;
2. otherwise its public address is the pool address its subscriber hashes to
   (:func:`~natsim.middleboxes.nat.pool.pool_address`), and with port preservation it keeps its port
   when the port is in ``port_range`` and the tuple (public address, port, server) is unused;
3. otherwise (or without preservation: ``random``) a port is drawn at random from the range, seeded.

A tuple is used while a live entry holds it; an expired entry frees it at once (netfilter has no
hold-down). ``ports_per_subscriber`` (rendered as ``ct count over N``) caps a subscriber's tracked
connections that are not yet closing (``time_wait``/``close`` do not count, as ``nf_conncount``). An
unknown inbound packet under ``pickup`` has no mapping to follow: it is addressed to the NAT itself,
whose own stack answers RST (the lab renders no input rule for ``pickup``).
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass

from natsim.errors import ConfigError
from natsim.middleboxes.conntrack.config import ConntrackConfig
from natsim.middleboxes.conntrack.model import Stateful, rst_for
from natsim.middleboxes.nat.pool import pool_address
from natsim.sim import trace as ev
from natsim.sim.cttable import ESTABLISHED, Entry, Tuple
from natsim.sim.network import Action, Addr, Answer, Drop, Forward, Segment
from natsim.units import TimeScale

#: States ``nf_conncount`` treats as closed (not counted against ``ports_per_subscriber``).
CLOSING = ("time_wait", "close")


@dataclass(frozen=True)
class NatSettings:
    """What a NAT translates and how (the same values its render writes).

    ``pool``: a prefix (``snat to`` its range, ``persistent``) or None (``masquerade``: the node's
    own address ``public``); ``port_range``: None leaves any port (masquerade without a range).
    """

    inside: str
    pool: str | None
    public: str
    port_range: tuple[int, int] | None = None
    port_preservation: bool = True
    ports_per_subscriber: int | None = None


class Nat(Stateful):
    """A NAT44 with conntrack policy, Linux's source mapping and an optional per-subscriber limit."""

    translates = True

    def __init__(self, name: str, config: ConntrackConfig, timing: TimeScale, nat: NatSettings, *,
                 seed: int = 0) -> None:
        super().__init__(name, config, timing)
        self.nat = nat
        self.inside = ipaddress.ip_network(nat.inside, strict=False)
        self.rng = random.Random(f"{seed}:{name}")
        self.used: dict[tuple[Addr, Addr], Entry] = {}      # (public, server) -> entry holding it
        self.mapped: dict[Addr, Entry] = {}                 # inside source -> its latest mapping
        self.per_subscriber: dict[str, list[Entry]] = {}

    # ---- which address and port ------------------------------------------------------------

    def translated(self, src: Addr) -> bool:
        """Whether ``src`` is in the prefix the NAT translates."""
        try:
            return ipaddress.ip_address(src[0]) in self.inside
        except ValueError:
            raise ConfigError(f"{self.name}: source {src[0]!r} has no IPv4 address; the NAT model "
                              "needs the topology's addresses") from None

    def address_for(self, subscriber: str) -> str:
        """The public address of ``subscriber`` (the pool address it hashes to)."""
        return pool_address(subscriber, self.nat.pool) if self.nat.pool else self.nat.public

    def _live(self, entry: Entry, now: float) -> bool:
        return not entry.expired(now) and self.table.holds(entry)

    def _free(self, public: Addr, server: Addr, now: float) -> bool:
        entry = self.used.get((public, server))
        if entry is not None and not self._live(entry, now):
            del self.used[(public, server)]
            entry = None
        return entry is None

    def _existing(self, src: Addr, server: Addr, now: float) -> Addr | None:
        """``find_appropriate_src``: the public address and port ``src`` is already mapped to, when
        that mapping is live and free towards ``server``."""
        entry = self.mapped.get(src)
        if entry is None or not self._live(entry, now):
            return None
        public = entry.reply[1]
        return public if self._free(public, server, now) else None

    def allocate(self, src: Addr, server: Addr, now: float) -> Addr | None:
        """The public (address, port) for a new connection from ``src`` to ``server``."""
        preserve = self.nat.port_preservation
        if preserve and (known := self._existing(src, server, now)) is not None:
            return known
        address = self.address_for(src[0])
        lo, hi = self.nat.port_range or (1, 65535)
        in_range = self.nat.port_range is None or lo <= src[1] <= hi
        if preserve and in_range and self._free((address, src[1]), server, now):
            return (address, src[1])
        size = hi - lo + 1
        start = self.rng.randrange(size)
        for i in range(size):   # nf_nat_l4proto_unique_tuple: a random offset, then onwards
            port = lo + (start + i) % size
            if self._free((address, port), server, now):
                return (address, port)
        return None

    def holding(self, subscriber: str, now: float) -> int:
        """Tracked connections of ``subscriber`` that count against its limit."""
        entries = [e for e in self.per_subscriber.get(subscriber, ()) if self._live(e, now)]
        self.per_subscriber[subscriber] = entries
        return sum(1 for e in entries if e.state not in CLOSING)

    def _map(self, seg: Segment, outbound: bool, now: float, state: str,
             picked_up: bool) -> Entry | ev.Dropped:
        limit = self.nat.ports_per_subscriber
        if limit is not None and self.holding(seg.src[0], now) >= limit:
            return ev.Dropped.at(now, self.name, seg, outbound, reason=ev.Reason.EXHAUSTED, limit=limit)
        public = self.allocate(seg.src, seg.dst, now)
        if public is None:
            return ev.Dropped.at(now, self.name, seg, outbound, reason=ev.Reason.EXHAUSTED,
                                 limit=self.nat.port_range[1] - self.nat.port_range[0] + 1
                                 if self.nat.port_range else 65535)
        original: Tuple = (seg.src, seg.dst)
        entry = self.table.create(original, (seg.dst, public), state, now, picked_up=picked_up,
                                  mapped_port=public[1])
        self.table.refresh(entry, now)
        self.used[(public, seg.dst)] = entry
        self.mapped[seg.src] = entry
        self.per_subscriber.setdefault(seg.src[0], []).append(entry)
        return entry

    # ---- conntrack hooks -----------------------------------------------------------------

    def open(self, seg: Segment, outbound: bool, now: float) -> Action:
        """An outbound SYN from the inside prefix gets a mapping; an inbound one has none to follow."""
        if not outbound:
            return self.untracked_inbound(seg, now, ev.Unknown.at(now, self.name, seg, outbound))
        if not self.translated(seg.src):
            return super().open(seg, outbound, now)
        entry = self._map(seg, outbound, now, "syn_sent", picked_up=False)
        if isinstance(entry, ev.Dropped):
            return Drop((entry,))
        public = entry.reply[1]
        return Forward(seg.with_src(public), (ev.Mapped.at(now, self.name, seg, outbound, public=public),))

    def pickup(self, seg: Segment, outbound: bool, now: float, cause: ev.Event) -> Action:
        """Outbound: re-map mid-stream. Inbound: the NAT's own stack answers RST."""
        if not outbound:
            return self.untracked_inbound(seg, now, cause)
        if not self.translated(seg.src):
            return super().pickup(seg, outbound, now, cause)
        entry = self._map(seg, outbound, now, ESTABLISHED, picked_up=True)
        if isinstance(entry, ev.Dropped):
            return Drop((cause, entry))
        public = entry.reply[1]
        return Forward(seg.with_src(public), (cause, ev.PickedUp.at(now, self.name, seg, outbound,
                                                                    public=public)))

    def untracked_inbound(self, seg: Segment, now: float, cause: ev.Event) -> Action:
        """Unknown inbound packet to the public address: dropped, reset, or (``pickup``) the NAT's own
        stack answers RST."""
        if "R" in seg.flags:
            return Drop((cause, ev.Dropped.at(now, self.name, seg, False, reason=ev.Reason.INVALID)))
        policy = self.policy.untracked_inbound.value
        if policy == "drop":
            return Drop((cause, ev.Dropped.at(now, self.name, seg, False, reason=ev.Reason.UNTRACKED)))
        reason = ev.Reason.UNTRACKED if policy == "reset" else ev.Reason.NO_MAPPING
        return Answer(rst_for(seg), (cause, ev.Reset.at(now, self.name, seg, False, reason=reason)))

    def translate(self, seg: Segment, entry: Entry, is_reply: bool) -> Segment:
        """SNAT outbound, reverse NAT inbound (untranslated entries pass as they are)."""
        if entry.mapped_port is None:
            return seg
        if is_reply:
            return seg.with_dst(entry.original[0])
        return seg.with_src(entry.reply[1])
