"""What every protocol of a NAT44 model shares (:class:`NatCore`): who is translated and to which
public address, Linux's choice of a port (``nf_nat_core.c: get_unique_tuple``, see
:mod:`natsim.middleboxes.nat.model`), the entries a NAT holds and conntrack's address rewriting."""

from __future__ import annotations

import functools
import ipaddress
import random

from natsim.errors import ConfigError
from natsim.middleboxes.conntrack.model import Stateful
from natsim.middleboxes.nat.config import NatConfig, NatSettings
from natsim.middleboxes.nat.pool import pool_address, pool_range
from natsim.sim import trace as ev
from natsim.sim.cttable import Entry, Tuple
from natsim.sim.network import Addr, Drop, Segment, Sided
from natsim.sim.segment import TCP
from natsim.units import TimeScale

#: States ``nf_conncount`` treats as closed (not counted against ``ports_per_subscriber``).
CLOSING = ("time_wait", "close")


class NatCore(Stateful, Sided):
    """What every protocol of a NAT44 model shares: who is translated to which address, Linux's port
    choice, the entries it holds, conntrack's address rewriting."""

    translates = True

    def __init__(self, name: str, config: NatConfig, timing: TimeScale, nat: NatSettings, *,
                 seed: int = 0) -> None:
        super().__init__(name, config, timing)
        self.nat = nat
        self.behaviour = config.behaviour()
        self.inside = ipaddress.ip_network(nat.inside, strict=False)
        self.rng = random.Random(f"{seed}:{name}")
        self.used: dict[tuple[Addr, Addr], Entry] = {}      # (public, server) -> entry holding it
        self.mapped: dict[Addr, Entry] = {}                 # inside source -> its latest mapping
        self.per_subscriber: dict[str, list[Entry]] = {}

    # ---- which address and port ------------------------------------------------------------

    def translated(self, src: Addr) -> bool:
        """Whether ``src`` is in the prefix the NAT translates."""
        try:
            return _address(src[0]) in self.inside
        except ValueError:
            raise ConfigError(f"{self.name}: source {src[0]!r} has no IPv4 address; the NAT model "
                              "needs the topology's addresses") from None

    def inside_address(self, address: str) -> bool:
        """Whether ``address`` is in the inside prefix (a label, e.g. another NAT's public address in the
        model, is not)."""
        try:
            return ipaddress.ip_address(address) in self.inside
        except ValueError:
            return False

    def behind(self, address: str) -> bool:
        """Whether a host at ``address`` is inside (a host named by a label, not an address, is taken to
        be: the model then crosses it as it always has, from the inside)."""
        try:
            return ipaddress.ip_address(address) in self.inside
        except ValueError:
            return True

    def public(self, address: str) -> bool:
        """Whether ``address`` is one of the NAT's own public addresses."""
        if self.nat.pool is None:
            return address == self.nat.public
        first, last = (int(ipaddress.ip_address(a)) for a in pool_range(self.nat.pool))
        try:
            return first <= int(ipaddress.ip_address(address)) <= last
        except ValueError:
            return False

    def address_for(self, subscriber: str) -> str:
        """The public address of ``subscriber`` (the pool address it hashes to)."""
        return pool_address(subscriber, self.nat.pool) if self.nat.pool else self.nat.public

    def _live(self, entry: Entry, now: float) -> bool:
        return not entry.expired(now) and self.table.holds(entry)

    def free(self, public: Addr, server: Addr, now: float) -> bool:
        """Whether no live entry holds the tuple (``public``, ``server``)."""
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
        return public if self.free(public, server, now) else None

    def random_port(self, address: str, server: Addr, now: float,
                    taken: set[int] | None = None) -> Addr | None:
        """``nf_nat_l4proto_unique_tuple``: a random offset in the range, then onwards to a free tuple
        (and, with natsim's tables, a port nobody holds)."""
        lo, hi = self.nat.port_range or (1, 65535)
        size = hi - lo + 1
        start = self.rng.randrange(size)
        for i in range(size):
            port = lo + (start + i) % size
            if self.free((address, port), server, now) and (taken is None or port not in taken):
                return (address, port)
        return None

    def allocate(self, src: Addr, server: Addr, now: float) -> Addr | None:
        """The public (address, port) Linux gives a new connection from ``src`` to ``server``."""
        preserve = self.behaviour.port_preservation
        if preserve and (known := self._existing(src, server, now)) is not None:
            return known
        address = self.address_for(src[0])
        lo, hi = self.nat.port_range or (1, 65535)
        in_range = self.nat.port_range is None or lo <= src[1] <= hi
        if preserve and in_range and self.free((address, src[1]), server, now):
            return (address, src[1])
        return self.random_port(address, server, now)

    def holding(self, subscriber: str, now: float) -> int:
        """Tracked TCP connections of ``subscriber`` that count against its limit."""
        entries = [e for e in self.per_subscriber.get(subscriber, ()) if self._live(e, now)]
        self.per_subscriber[subscriber] = entries
        return sum(1 for e in entries if e.state not in CLOSING)

    def exhausted(self, seg: Segment, outbound: bool, now: float) -> ev.Dropped:
        """The event of a new connection that found no free port."""
        return ev.Dropped.at(now, self.name, seg, outbound, reason=ev.Reason.EXHAUSTED,
                             limit=self.nat.port_range[1] - self.nat.port_range[0] + 1
                             if self.nat.port_range else 65535)

    def hold(self, seg: Segment, public: Addr, state: str, now: float, picked_up: bool = False,
             reply_src: Addr | None = None) -> Entry:
        """Create the entry of a new connection or flow ``seg`` SNATed to ``public`` (``reply_src``: where
        it goes after DNAT, for a hairpinned one)."""
        original: Tuple = (seg.src, seg.dst)
        reply: Tuple = ((reply_src or seg.dst), public)
        entry = self.table.create(original, reply, state, now, picked_up=picked_up, mapped_port=public[1],
                                  protocol=seg.protocol)
        self.table.refresh(entry, now)
        self.used[(public, reply[0])] = entry
        self.mapped[seg.src] = entry
        if seg.protocol == TCP:
            self.per_subscriber.setdefault(seg.src[0], []).append(entry)
        return entry

    def _map(self, seg: Segment, outbound: bool, now: float, state: str,
             picked_up: bool) -> Entry | ev.Dropped:
        limit = self.nat.ports_per_subscriber
        if limit is not None and seg.protocol == TCP and self.holding(seg.src[0], now) >= limit:
            return ev.Dropped.at(now, self.name, seg, outbound, reason=ev.Reason.EXHAUSTED, limit=limit)
        public = self.allocate(seg.src, seg.dst, now)
        if public is None:
            return self.exhausted(seg, outbound, now)
        return self.hold(seg, public, state, now, picked_up)

    # ---- what every protocol meets ---------------------------------------------------------

    def to_inside(self, seg: Segment, outbound: bool) -> bool:
        """An inbound packet addressed to an inside address (a NAT lets no new connection in)."""
        if outbound or self.public(seg.dst[0]):
            return False
        try:
            return ipaddress.ip_address(seg.dst[0]) in self.inside
        except ValueError:
            return False

    def filtered(self, seg: Segment, now: float, cause: ev.Event) -> Drop:
        """Dropped: a new connection from the outside to an inside address."""
        return Drop((cause, ev.Dropped.at(now, self.name, seg, False, reason=ev.Reason.FILTERED)))

    def translate(self, seg: Segment, entry: Entry, is_reply: bool) -> Segment:
        """Conntrack's NAT: a packet of the original direction leaves as the reply tuple turned round,
        one of the reply direction as the original tuple turned round (untranslated entries: as is)."""
        if entry.mapped_port is None:
            return seg
        src, dst = (entry.original[1], entry.original[0]) if is_reply else (entry.reply[1], entry.reply[0])
        return seg.with_src(src).with_dst(dst)


@functools.lru_cache(maxsize=65536)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """``ipaddress.ip_address(text)``, parsed once per address (the model asks per connection)."""
    return ipaddress.ip_address(text)
