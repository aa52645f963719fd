"""The simpy model of a stateful middlebox's conntrack policy (no address translation: a bridge).

It reads the same :class:`~natsim.middleboxes.conntrack.policy.ConntrackPolicy` the lab's ruleset is
rendered from, quantised as the lab's kernel holds it (whole lab seconds). NATs extend it
(:mod:`natsim.middleboxes.nat.model`). See ``docs/model.md`` for the assumptions.
"""

from __future__ import annotations

from natsim.middleboxes.conntrack.config import ConntrackConfig
from natsim.middleboxes.conntrack.policy import Untracked
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
from natsim.sim.timers import CT_UNACKNOWLEDGED
from natsim.units import TimeScale


def ct_timeouts(config: ConntrackConfig, timing: TimeScale) -> dict[str, float]:
    """Per-state timeouts in real-world seconds, quantised as the lab's kernel holds them, plus the
    unacknowledged timeout the lab cannot scale."""
    timeouts = config.policy().quantised(timing)
    timeouts[UNACKNOWLEDGED] = timing.unscaled(CT_UNACKNOWLEDGED)
    return timeouts


def _fmt(seconds: float) -> str:
    return f"{seconds:.6g} s"


class Stateful(ConnectionTracker):
    """Conntrack policy of any stateful middlebox; no address translation (a bridge)."""

    #: a NAT rewrites addresses, so it must never pass an untracked packet
    translates = False

    def __init__(self, name: str, config: ConntrackConfig, timing: TimeScale) -> None:
        self.name = name
        self.config = config
        self.policy = config.policy()
        self.table = ConntrackTable(ct_timeouts(config, timing))

    @property
    def established_timeout(self) -> float:
        """Idle timeout of an established connection (real-world seconds)."""
        return self.table.timeouts[ESTABLISHED]

    def handle(self, seg: Segment, outbound: bool, now: float) -> Action:
        """Conntrack lookup, then the untracked policy of the packet's direction."""
        entry, is_reply, expired = self.table.lookup((seg.src, seg.dst), now)
        if entry is not None:
            if is_reply:
                entry.seen_reply = True
            self.table.refresh(entry, now, track_flags(entry, seg.flags, is_reply))
            return Forward(self.translate(seg, entry, is_reply))
        return self.untracked(seg, outbound, now, self._why(expired, seg, outbound))

    def _why(self, expired: Expired | None, seg: Segment, outbound: bool) -> str:
        if expired is not None:
            return (f"idle {_fmt(expired.idle)} ≥ {self.name} {expired.state} timeout "
                    f"{_fmt(expired.timeout)}")
        return f"{self.name} has no entry for this {'outbound' if outbound else 'inbound'} {seg.what()}"

    def untracked(self, seg: Segment, outbound: bool, now: float, why: str) -> Action:
        """A packet of no known connection: a SYN opens one, anything else meets the policy."""
        direction = "outbound" if outbound else "inbound"
        if seg.flags == "S":
            return self.open(seg, outbound, now)
        policy = self.policy.untracked(outbound)
        if "R" in seg.flags or "F" in seg.flags or "S" in seg.flags:
            return self.invalid(seg, policy, direction, why)
        if policy is Untracked.DROP:
            return Drop(f"{why}; {direction} {seg.what()} dropped as untracked")
        if policy is Untracked.RESET:
            rst = Segment(seg.dst, seg.src, "R", seg.conn)
            return Answer(rst, f"{why}; {direction} {seg.what()} answered with RST by {self.name}")
        return self.pickup(seg, outbound, now, why)

    def invalid(self, seg: Segment, policy: Untracked, direction: str, why: str) -> Action:
        """FIN, RST or SYN-ACK of no known connection: conntrack cannot pick it up (invalid).

        ``drop``/``reset`` render ``ct state invalid drop|reject``; under ``pickup`` a bridge has no
        rule and passes it untracked (no entry is created); a NAT drops it (``translates``).
        """
        what = seg.what()
        if policy is Untracked.PICKUP and not self.translates:
            return Forward(seg, f"{why}; {direction} {what} passes untracked ({self.name} cannot pick "
                                "up a FIN/RST: invalid, no entry)")
        if policy is Untracked.RESET and "R" not in seg.flags:
            rst = Segment(seg.dst, seg.src, "R", seg.conn)
            return Answer(rst, f"{why}; {direction} {what} (invalid) answered with RST by {self.name}")
        return Drop(f"{why}; {direction} {what} of no known connection dropped as invalid")

    def open(self, seg: Segment, outbound: bool, now: float) -> Action:
        """A new connection (bare SYN)."""
        t: Tuple = (seg.src, seg.dst)
        self.table.create(t, (seg.dst, seg.src), "syn_sent", now)
        return Forward(seg)

    def pickup(self, seg: Segment, outbound: bool, now: float, why: str) -> Action:
        """``pickup``: create an entry mid-stream and pass the packet (loose tracking)."""
        t: Tuple = (seg.src, seg.dst)
        entry = self.table.create(t, (seg.dst, seg.src), ESTABLISHED, now, picked_up=True)
        self.table.refresh(entry, now)
        direction = "outbound" if outbound else "inbound"
        return Forward(seg, f"{why}; {direction} {seg.what()} picked up by {self.name} (new entry)")

    def translate(self, seg: Segment, entry: Entry, is_reply: bool) -> Segment:
        """Rewrite addresses for a packet of ``entry`` (none on a bridge)."""
        return seg
