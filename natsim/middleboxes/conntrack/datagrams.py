"""How a stateful middlebox's model tracks UDP flows and the ICMP errors about them.

Linux's behaviour (``nf_conntrack_proto_udp.c``), which the lab's middleboxes have as long as their
render sets nothing for UDP: any datagram of no known flow, from either side, opens one (a NAT maps an
outbound one; see :mod:`natsim.middleboxes.nat.model`); each datagram refreshes its flow with the
*unreplied* timer, or with the *stream* timer once the flow has seen a reply and is older than 2 s (a
kernel constant, never scaled: the model holds it at lab speed); an expired flow is simply opened again
by its next datagram. The timers are the middlebox's policy table
(:class:`~natsim.middleboxes.conntrack.policy.ConntrackPolicy`), scaled to whole kernel seconds as its
render sets them. An ICMP error about a datagram follows that datagram's flow back, translated like a
packet of the flow, without refreshing it; one about no known flow is dropped.
"""

from __future__ import annotations

from natsim.kernel_facts import CONNTRACK_UDP_STREAM_AFTER
from natsim.sim import trace as ev
from natsim.sim.cttable import (
    UDP_STREAM,
    UDP_UNREPLIED,
    ConntrackTable,
    Entry,
    Expired,
    Tuple,
    reverse,
    track_udp,
)
from natsim.sim.network import Action, DatagramTracker, Drop, Forward, Segment
from natsim.sim.segment import ICMP, UDP
from natsim.units import TimeScale


class DatagramTracking(DatagramTracker):
    """UDP and ICMP handling of a stateful middlebox model (mixed into
    :class:`~natsim.middleboxes.conntrack.model.Stateful`, which provides ``name``, ``table``,
    ``cause`` and ``translate``)."""

    name: str
    table: ConntrackTable
    #: seconds after its first datagram from which a replied flow takes the stream timer (real-world)
    stream_after: float

    def cause(self, expired: Expired | None, seg: Segment, outbound: bool, now: float) -> ev.Event:
        """Why ``seg`` has no entry (the model it is mixed into says)."""
        raise NotImplementedError

    def translate(self, seg: Segment, entry: Entry, is_reply: bool) -> Segment:
        """Rewrite addresses for a packet of ``entry`` (the model it is mixed into says)."""
        raise NotImplementedError

    def init_datagrams(self, timing: TimeScale) -> None:
        """Set the kernel's 2 s stream threshold at lab speed."""
        self.stream_after = timing.unscaled(CONNTRACK_UDP_STREAM_AFTER)

    @property
    def udp_timeouts(self) -> tuple[float, float]:
        """(unreplied, stream) UDP timeouts (real-world seconds)."""
        return self.table.timeout_of(UDP_UNREPLIED, UDP), self.table.timeout_of(UDP_STREAM, UDP)

    def datagram(self, seg: Segment, outbound: bool, now: float) -> Action:
        """A UDP datagram or an ICMP error: its flow's entry, or a new flow."""
        if seg.protocol == ICMP:
            return self.icmp_error(seg, outbound, now)
        entry, is_reply, expired = self.table.lookup((seg.src, seg.dst), now)
        if entry is None:
            return self.new_flow(seg, outbound, now, self.cause(expired, seg, outbound, now),
                                 expired is not None)
        self.table.refresh(entry, now, track_udp(entry, now, self.stream_after))
        if is_reply:
            entry.seen_reply = True
        if entry.local:
            return self.to_own_stack(seg, outbound, now, ())
        return Forward(self.translate(seg, entry, is_reply))

    def new_flow(self, seg: Segment, outbound: bool, now: float, cause: ev.Event, again: bool) -> Action:
        """A datagram of no known flow opens one (``again``: its flow had expired) and passes."""
        t: Tuple = (seg.src, seg.dst)
        entry = self.table.create(t, reverse(t), UDP_UNREPLIED, now, protocol=UDP)
        self.table.refresh(entry, now, UDP_UNREPLIED)
        if not again:
            return Forward(seg)
        return Forward(seg, (cause, ev.PickedUp.at(now, self.name, seg, outbound)))

    def to_own_stack(self, seg: Segment, outbound: bool, now: float, events: tuple[ev.Event, ...]) -> Action:
        """A datagram addressed to this node: its stack has no socket for it (only a NAT has an
        address on the data path; see its model)."""
        return Drop((*events, ev.Dropped.at(now, self.name, seg, outbound, reason=ev.Reason.NO_SOCKET)))

    def icmp_error(self, seg: Segment, outbound: bool, now: float) -> Action:
        """An ICMP error travels back along the flow of the datagram it is about (no refresh)."""
        assert seg.about is not None
        entry, towards_origin = self.related(seg.about, now)
        if entry is None:
            return Drop((ev.Unknown.at(now, self.name, seg, outbound),
                         ev.Dropped.at(now, self.name, seg, outbound, reason=ev.Reason.INVALID)))
        if entry.mapped_port is None:
            return Forward(seg)
        about = entry.original if towards_origin else entry.reply
        source = seg.src if towards_origin else entry.reply[1]   # an error leaving a NAT is SNATed too
        return Forward(Segment(source, about[0], seg.flags, seg.conn, protocol=ICMP, about=about))

    def related(self, about: Tuple, now: float) -> tuple[Entry | None, bool]:
        """The live entry of the datagram ``about`` (as it left this node) and whether the error about it
        travels towards the flow's originator."""
        found = self.table.lookup(reverse(about), now)
        return found[0], found[1]
