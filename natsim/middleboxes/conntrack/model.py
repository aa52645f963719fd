"""The simpy model of a stateful middlebox's conntrack policy (no address translation: a bridge).

It reads the same :class:`~natsim.middleboxes.conntrack.policy.ConntrackPolicy` the lab's ruleset is
rendered from, quantised as the lab's kernel holds it (whole lab seconds). NATs extend it
(:mod:`natsim.middleboxes.nat.model`). See ``docs/model.md`` for the assumptions.
"""

from __future__ import annotations

from typing import Protocol

from natsim.kernel_facts import CONNTRACK_TCP_UNACKNOWLEDGED
from natsim.middleboxes.conntrack.datagrams import DatagramTracking
from natsim.middleboxes.conntrack.policy import ConntrackPolicy, Untracked
from natsim.sim import trace as ev
from natsim.sim.cttable import (
    ESTABLISHED,
    UNACKNOWLEDGED,
    ConntrackTable,
    Entry,
    Expired,
    Tuple,
    track_flags,
)
from natsim.sim.network import Action, Answer, ConnectionTracker, Drop, Forward, Segment
from natsim.sim.segment import TCP
from natsim.units import TimeScale


class Tracking(Protocol):
    """A config with a conntrack policy table (``ConntrackConfig`` and kinds that derive it otherwise)."""

    def policy(self) -> ConntrackPolicy:
        """The policy table its ruleset is rendered from."""
        ...


def ct_timeouts(config: Tracking, timing: TimeScale) -> dict[str, dict[str, float]]:
    """Per protocol and state, the timeouts in real-world seconds, quantised as the lab's kernel holds
    them, plus TCP's unacknowledged timeout the lab cannot scale."""
    timeouts = config.policy().quantised(timing)
    timeouts[TCP][UNACKNOWLEDGED] = timing.unscaled(CONNTRACK_TCP_UNACKNOWLEDGED)
    return timeouts


def rst_for(seg: Segment) -> Segment:
    """The RST a node sends back to ``seg``'s sender."""
    return Segment(seg.dst, seg.src, "R", seg.conn)


class Stateful(DatagramTracking, ConnectionTracker):
    """Conntrack policy of any stateful middlebox; no address translation (a bridge). UDP flows and
    ICMP errors: :class:`~natsim.middleboxes.conntrack.datagrams.DatagramTracking`."""

    #: a NAT rewrites addresses, so it must never pass an untracked packet
    translates = False

    def __init__(self, name: str, config: Tracking, timing: TimeScale) -> None:
        self.name = name
        self.config = config
        self.policy = config.policy()
        self.table = ConntrackTable(ct_timeouts(config, timing))
        self.init_datagrams(timing)

    @property
    def established_timeout(self) -> float:
        """Idle timeout of an established connection (real-world seconds)."""
        return self.table.timeout_of(ESTABLISHED)

    def handle(self, seg: Segment, outbound: bool, now: float) -> Action:
        """Conntrack lookup, then the untracked policy of the packet's direction."""
        if seg.protocol != TCP:
            return self.datagram(seg, outbound, now)
        entry, is_reply, expired = self.table.lookup((seg.src, seg.dst), now)
        if entry is not None:
            if is_reply:
                entry.seen_reply = True
            self.table.refresh(entry, now, track_flags(entry, seg.flags, is_reply))
            return Forward(self.translate(seg, entry, is_reply))
        return self.untracked(seg, outbound, now, self.cause(expired, seg, outbound, now))

    def cause(self, expired: Expired | None, seg: Segment, outbound: bool, now: float) -> ev.Event:
        """Why ``seg`` has no entry: the entry had expired, or there never was one."""
        if expired is not None:
            return ev.Expired.at(now, self.name, seg, outbound, state=expired.state, idle=expired.idle,
                                 timeout=expired.timeout)
        return ev.Unknown.at(now, self.name, seg, outbound)

    def untracked(self, seg: Segment, outbound: bool, now: float, cause: ev.Event) -> Action:
        """A packet of no known connection: a SYN opens one, anything else meets the policy."""
        if seg.flags == "S":
            return self.open(seg, outbound, now)
        policy = self.policy.untracked(outbound)
        if "R" in seg.flags or "F" in seg.flags or "S" in seg.flags:
            return self.invalid(seg, outbound, now, policy, cause)
        if policy is Untracked.DROP:
            return Drop((cause, ev.Dropped.at(now, self.name, seg, outbound, reason=ev.Reason.UNTRACKED)))
        if policy is Untracked.RESET:
            return Answer(rst_for(seg), (cause, ev.Reset.at(now, self.name, seg, outbound,
                                                            reason=ev.Reason.UNTRACKED)))
        return self.pickup(seg, outbound, now, cause)

    def invalid(self, seg: Segment, outbound: bool, now: float, policy: Untracked, cause: ev.Event) -> Action:
        """FIN, RST or SYN-ACK of no known connection: conntrack cannot pick it up (invalid).

        ``drop``/``reset`` render ``ct state invalid drop|reject``; under ``pickup`` a bridge has no
        rule and passes it untracked (no entry is created); a NAT drops it (``translates``).
        """
        if policy is Untracked.PICKUP and not self.translates:
            passed = ev.Passed.at(now, self.name, seg, outbound, reason=ev.Reason.INVALID)
            return Forward(seg, (cause, passed))
        if policy is Untracked.RESET and "R" not in seg.flags:
            return Answer(rst_for(seg), (cause, ev.Reset.at(now, self.name, seg, outbound,
                                                            reason=ev.Reason.INVALID)))
        return Drop((cause, ev.Dropped.at(now, self.name, seg, outbound, reason=ev.Reason.INVALID)))

    def open(self, seg: Segment, outbound: bool, now: float) -> Action:
        """A new connection (bare SYN)."""
        t: Tuple = (seg.src, seg.dst)
        self.table.create(t, (seg.dst, seg.src), "syn_sent", now)
        return Forward(seg)

    def pickup(self, seg: Segment, outbound: bool, now: float, cause: ev.Event) -> Action:
        """``pickup``: create an entry mid-stream and pass the packet (loose tracking)."""
        t: Tuple = (seg.src, seg.dst)
        entry = self.table.create(t, (seg.dst, seg.src), ESTABLISHED, now, picked_up=True)
        self.table.refresh(entry, now)
        return Forward(seg, (cause, ev.PickedUp.at(now, self.name, seg, outbound)))

    def translate(self, seg: Segment, entry: Entry, is_reply: bool) -> Segment:
        """Rewrite addresses for a packet of ``entry`` (none on a bridge)."""
        return seg
