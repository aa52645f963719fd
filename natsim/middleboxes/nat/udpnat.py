"""UDP through a NAT model, as its render writes it (:mod:`natsim.middleboxes.nat.render`).

Conntrack tracks every flow as :mod:`natsim.middleboxes.conntrack.datagrams` says. On top of it:

* **Linux's plain masquerade** (the behaviour :meth:`~natsim.middleboxes.nat.behaviour.NatBehaviour.plain`
  says is Linux's): a new outbound flow is mapped like a TCP connection (``get_unique_tuple``); an
  inbound datagram of a live flow passes; any other inbound one is refused;
* **natsim's mapping tables** otherwise (:mod:`natsim.middleboxes.nat.tables`, the same tables kept by
  the same packets: :class:`~natsim.middleboxes.nat.mappings.TimedTable`): a new flow of a living
  mapping takes its port, else its own source port when nobody holds it (port preservation), else a
  random one nobody holds; an inbound datagram of a live flow whose mapping (or permission) has
  expired is refused; a new inbound flow the filter admits (endpoint-independent: any sender to a held
  port; address-dependent: an address the endpoint sent to) is DNATed to the inside endpoint; with
  hairpinning an inside host reaches another one's public endpoint, seen from its own mapping.

A refused datagram is answered with ICMP port unreachable or dropped (``udp_refused``): ``no-mapping``
when nobody holds its public port, ``filtered`` when somebody does but the filter refuses it. A new flow
from the outside to an inside address is ``filtered`` (dropped).
"""

from __future__ import annotations

from dataclasses import dataclass

from natsim.middleboxes.nat.behaviour import Dependence, Refusal
from natsim.middleboxes.nat.config import NatConfig, NatSettings
from natsim.middleboxes.nat.mappings import TimedTable
from natsim.middleboxes.nat.natcore import NatCore
from natsim.sim import trace as ev
from natsim.sim.cttable import UDP_STREAM, UDP_UNREPLIED, Entry, track_udp
from natsim.sim.network import Action, Addr, Answer, Drop, Forward, Segment
from natsim.sim.segment import ICMP, UDP, unreachable
from natsim.units import TimeScale


@dataclass(frozen=True)
class Ends:
    """A packet's inside endpoint, public endpoint and remote endpoint."""

    inside: Addr
    public: Addr
    remote: Addr


class UdpNat(NatCore):
    """UDP through a NAT44 model: Linux's masquerade, or natsim's mapping tables (``tables``)."""

    def __init__(self, name: str, config: NatConfig, timing: TimeScale, nat: NatSettings, *,
                 seed: int = 0) -> None:
        super().__init__(name, config, timing, nat, seed=seed)
        self.tables: dict[str, TimedTable] | None = None
        if not self.behaviour.plain():   # natsim's tables, with the policy's UDP timers
            quantised = self.policy.quantised(timing)[UDP]
            timers = {"u": quantised[UDP_UNREPLIED], "s": quantised[UDP_STREAM]}
            self.tables = {name: TimedTable(timers) for name in ("map", "own", "port", "perm")}

    # ---- keys, as the render's tables write them ------------------------------------------------

    def mapping_key(self, ends: Ends) -> tuple[Addr] | tuple[Addr, str]:
        """The mapping a packet belongs to."""
        if self.behaviour.mapping is Dependence.EI:
            return (ends.inside,)
        return (ends.inside, ends.remote[0])

    def filter_key(self, ends: Ends) -> tuple[Addr, str] | tuple[Addr, Addr]:
        """The permission a packet belongs to."""
        if self.behaviour.filtering is Dependence.AD:
            return (ends.public, ends.remote[0])
        return (ends.public, ends.remote)

    @property
    def has_perm(self) -> bool:
        """As :attr:`natsim.middleboxes.nat.tables.Tables.has_perm`."""
        f = self.behaviour.filtering
        return f is Dependence.AD or (f is Dependence.APD and self.behaviour.refresh.value != "both")

    def record(self, entry: Entry, ends: Ends, refreshes: bool, now: float) -> None:
        """Record a packet of ``entry`` in every table (its class: the flow's timer)."""
        assert self.tables is not None
        cls = "s" if entry.state == UDP_STREAM else "u"
        if self.behaviour.mapping is not Dependence.APD:
            self.tables["map"].record(cls, self.mapping_key(ends), ends.public, now, refreshes)
        self.tables["own"].record(cls, ends.public, ends.inside, now, refreshes)
        self.tables["port"].record(cls, ends.public[1], None, now, refreshes)
        if self.has_perm:
            self.tables["perm"].record(cls, self.filter_key(ends), ends.inside, now, refreshes)

    def ends(self, entry: Entry) -> tuple[str, Ends | None]:
        """Which kind of translated flow ``entry`` is (``out``, ``in``, ``hairpin``, ``plain``) and its
        ends (the sender's, for a hairpinned one)."""
        if entry.mapped_port is None:
            return "plain", None
        original, reply = entry.original, entry.reply
        if self.inside_address(original[0][0]):
            kind = "hairpin" if self.inside_address(reply[0][0]) else "out"
            return kind, Ends(original[0], reply[1], original[1])
        return "in", Ends(reply[0], original[1], original[0])

    # ---- datagrams --------------------------------------------------------------------------

    def datagram(self, seg: Segment, outbound: bool, now: float) -> Action:
        """A UDP datagram or an ICMP error: its flow's entry, or a new flow."""
        if seg.protocol == ICMP:
            return self.icmp_error(seg, outbound, now)
        entry, is_reply, expired = self.table.lookup((seg.src, seg.dst), now)
        if entry is None:
            cause = self.cause(expired, seg, outbound, now)
            if outbound:
                return self.flow_out(seg, now, cause, expired is not None)
            return self.flow_in(seg, now, cause)
        self.table.refresh(entry, now, track_udp(entry, now, self.stream_after))
        if is_reply:
            entry.seen_reply = True
        return self.known(seg, outbound, now, entry, is_reply)

    def known(self, seg: Segment, outbound: bool, now: float, entry: Entry, is_reply: bool) -> Action:
        """A datagram of a flow conntrack holds: recorded, checked, translated."""
        kind, ends = self.ends(entry)
        out = self.translate(seg, entry, is_reply)
        if self.tables is None or ends is None:
            return Forward(out)
        if kind == "hairpin":
            if not is_reply:
                self.record(entry, ends, self.behaviour.refresh.outbound, now)
            return Answer(out, ())
        if outbound:
            self.record(entry, ends, self.behaviour.refresh.outbound, now)
            return Forward(out)
        refused = self.check(seg, ends, now)
        if refused is not None:
            return refused
        if self.behaviour.refresh.inbound:
            self.record(entry, ends, True, now)
        return Forward(out)

    def check(self, seg: Segment, ends: Ends, now: float) -> Action | None:
        """Inbound: the refusal of a datagram whose mapping (or permission) has expired, or None."""
        assert self.tables is not None
        for table, key, reason in (("own", ends.public, ev.Reason.NO_MAPPING),
                                   ("perm", self.filter_key(ends), ev.Reason.FILTERED)):
            if table == "perm" and not self.has_perm:
                continue
            if not self.tables[table].alive(key, now):
                gone = self.tables[table].last(key)
                what = "udp mapping" if table == "own" else "udp permission"
                cause = ev.Expired.at(now, self.name, seg, False, state=what,
                                      idle=now - gone.refreshed if gone else 0.0,
                                      timeout=gone.timeout if gone else 0.0)
                return self.refuse(seg, False, now, cause, reason)
        return None

    def refuse(self, seg: Segment, outbound: bool, now: float, cause: ev.Event, reason: ev.Reason) -> Action:
        """A datagram no mapping lets in: ICMP port unreachable or silence (``udp_refused``)."""
        if self.behaviour.udp_refused is Refusal.ICMP:
            return Answer(unreachable(seg), (cause, ev.Unreachable.at(now, self.name, seg, outbound,
                                                                       reason=reason)))
        return Drop((cause, ev.Dropped.at(now, self.name, seg, outbound, reason=reason)))

    def held(self, public: Addr, now: float) -> bool:
        """Whether a mapping holds ``public`` (its port, towards anyone)."""
        if self.tables is not None:
            return self.tables["own"].alive(public, now)
        return any(p == public and self._live(e, now) for (p, _), e in self.used.items())

    # ---- new flows ------------------------------------------------------------------------------

    def flow_in(self, seg: Segment, now: float, cause: ev.Event) -> Action:
        """A datagram from the outside of no live flow: to an inside address it is filtered; to the
        public address the filter may admit it (natsim's tables), else it is refused."""
        if self.to_inside(seg, False):
            return self.filtered(seg, now, cause)
        if not self.public(seg.dst[0]):
            return super().new_flow(seg, False, now, cause, False)
        inside = self.admitted(seg, now)
        if inside is None:
            reason = ev.Reason.FILTERED if self.held(seg.dst, now) else ev.Reason.NO_MAPPING
            return self.refuse(seg, False, now, cause, reason)
        entry = self.table.create((seg.src, seg.dst), (inside, seg.src), UDP_UNREPLIED, now,
                                  mapped_port=seg.dst[1], protocol=UDP)
        self.table.refresh(entry, now)
        self.used[(seg.dst, seg.src)] = entry
        if self.behaviour.refresh.inbound:
            self.record(entry, Ends(inside, seg.dst, seg.src), True, now)
        return Forward(seg.with_dst(inside))

    def admitted(self, seg: Segment, now: float) -> Addr | None:
        """The inside endpoint a new inbound flow is DNATed to, when the filter admits it."""
        if self.tables is None or self.behaviour.filtering is Dependence.APD:
            return None
        if self.behaviour.filtering is Dependence.EI:
            found = self.tables["own"].get(seg.dst, now)
        else:
            found = self.tables["perm"].get((seg.dst, seg.src[0]), now)
        return None if found is None else found.value

    def flow_out(self, seg: Segment, now: float, cause: ev.Event, again: bool) -> Action:
        """A datagram from the inside of no live flow: mapped (from the inside prefix), hairpinned,
        or refused when it is addressed to the NAT itself."""
        if not self.translated(seg.src):
            return super().new_flow(seg, True, now, cause, again)
        if self.public(seg.dst[0]):
            hairpins = self.tables is not None and self.behaviour.hairpinning
            target = self.tables["own"].get(seg.dst, now) if self.tables and hairpins else None
            if target is None:
                return self.refuse(seg, True, now, cause, ev.Reason.NO_MAPPING)
            return self.hairpin(seg, target.value, now)
        if self.tables is None:
            entry = self._map(seg, True, now, UDP_UNREPLIED, picked_up=False)
            if isinstance(entry, ev.Dropped):
                return Drop((cause, entry))
        else:
            public = self.table_allocate(seg.src, seg.dst, seg.dst, now)
            if public is None:
                return Drop((cause, self.exhausted(seg, True, now)))
            entry = self.hold(seg, public, UDP_UNREPLIED, now)
            self.record(entry, Ends(seg.src, public, seg.dst), self.behaviour.refresh.outbound, now)
        public = entry.reply[1]
        if again:
            return Forward(seg.with_src(public), (cause, ev.PickedUp.at(now, self.name, seg, True,
                                                                        public=public)))
        return Forward(seg.with_src(public), (ev.Mapped.at(now, self.name, seg, True, public=public),))

    def hairpin(self, seg: Segment, inside: Addr, now: float) -> Action:
        """A datagram from the inside to another inside endpoint's public one: DNATed to it, from the
        sender's own mapping (RFC 4787 REQ-9), back into the inside."""
        address = seg.dst[0] if self.nat.pool is None else self.address_for(seg.src[0])
        public = self.table_allocate(seg.src, seg.dst, inside, now, address=address)
        if public is None:
            return Drop((self.exhausted(seg, True, now),))
        entry = self.hold(seg, public, UDP_UNREPLIED, now, reply_src=inside)
        self.record(entry, Ends(seg.src, public, seg.dst), self.behaviour.refresh.outbound, now)
        return Answer(Segment(public, inside, seg.flags, seg.conn, protocol=UDP, payload=seg.payload),
                      (ev.Mapped.at(now, self.name, seg, True, public=public),))

    def table_allocate(self, src: Addr, remote: Addr, peer: Addr, now: float,
                       address: str | None = None) -> Addr | None:
        """The public endpoint of a new flow from ``src`` to ``remote`` (``peer``: where it goes after
        DNAT) with natsim's tables: its living mapping's, its own port when nobody holds it (port
        preservation), else a random one nobody holds."""
        assert self.tables is not None
        if self.behaviour.mapping is not Dependence.APD:
            found = self.tables["map"].get(self.mapping_key(Ends(src, src, remote)), now)
            if found is not None:
                return found.value  # type: ignore[no-any-return]
        address = address or self.address_for(src[0])
        lo, hi = self.nat.port_range or (1, 65535)
        if self.behaviour.port_preservation and lo <= src[1] <= hi \
                and not self.tables["port"].alive(src[1], now):
            return (address, src[1])
        taken = {port for port in self.tables["port"].keys(now) if isinstance(port, int)}
        return self.random_port(address, peer, now, taken)
