"""NAT44 models (the ``nat`` kind and its presets: ``cgn``, ``home-router`` …): conntrack policy plus
source NAT as its render writes it, reading the same three records (policy, behaviour, addressing).

The render SNATs packets from the ``inside`` prefix (``ip saddr PREFIX``) to the ``pool`` (``snat to
FIRST-LAST persistent``; one address: ``masquerade``); packets from other sources pass untranslated.
For TCP (and UDP when the behaviour is Linux's plain masquerade) the model follows Linux's
``nf_nat_core.c: get_unique_tuple`` for a source mapping:

1. a source (address, port) that already has a mapping keeps its public address and port
   (``find_appropriate_src``) when that gives a unique tuple;
2. otherwise its public address is the pool address its subscriber hashes to
   (:func:`~natsim.middleboxes.nat.pool.pool_address`), and with port preservation it keeps its port
   when the port is in ``port_range`` and the tuple (public address, port, server) is unused;
3. otherwise (or without preservation: ``random``) a port is drawn at random from the range, seeded.

A tuple is used while a live entry holds it; an expired entry frees it at once (netfilter has no
hold-down). ``ports_per_subscriber`` (rendered as ``ct count over N``) caps a subscriber's tracked TCP
connections that are not yet closing (``time_wait``/``close`` do not count, as ``nf_conncount``). A new
connection from the outside to an inside address is dropped (``filtered``). An unknown inbound packet
to the public address under ``pickup`` has no mapping to follow: it reaches the NAT itself, whose own
stack answers RST (the lab renders no input rule for ``pickup``). UDP: :mod:`.udpnat`.
"""

from __future__ import annotations

from natsim.middleboxes.conntrack.model import rst_for
from natsim.middleboxes.nat.config import NatSettings
from natsim.middleboxes.nat.udpnat import UdpNat
from natsim.sim import trace as ev
from natsim.sim.cttable import ESTABLISHED
from natsim.sim.network import Action, Answer, Drop, Forward, Segment

__all__ = ["Nat", "NatSettings"]

class Nat(UdpNat):
    """A NAT44 with conntrack policy, Linux's source mapping, its NAT behaviour for UDP
    (:class:`~natsim.middleboxes.nat.udpnat.UdpNat`) and an optional per-subscriber limit."""

    # ---- TCP: conntrack hooks -------------------------------------------------------------

    def untracked(self, seg: Segment, outbound: bool, now: float, cause: ev.Event) -> Action:
        """As conntrack's, but a new inbound connection (a SYN, or what loose tracking would pick up)
        to an inside address is filtered first; invalid packets (FIN, RST, SYN-ACK) meet the policy."""
        invalid = "R" in seg.flags or "F" in seg.flags or ("S" in seg.flags and seg.flags != "S")
        if self.to_inside(seg, outbound) and not invalid:
            return self.filtered(seg, now, cause)
        return super().untracked(seg, outbound, now, cause)

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
