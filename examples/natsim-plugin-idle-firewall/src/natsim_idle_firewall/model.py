"""The simpy model of an ``idle-firewall``: natsim's conntrack model plus the inbound allow-list.

:class:`~natsim.middleboxes.conntrack.model.Stateful` already reads the same policy table as the
ruleset (timeouts per state, untracked policy per direction); only opening a connection differs.
"""

from __future__ import annotations

from natsim.middleboxes.conntrack.model import Stateful
from natsim.sim.network import Action, Drop, Segment
from natsim.sim.trace import Dropped, Reason
from natsim.units import TimeScale

from natsim_idle_firewall.config import IdleFirewall


class FirewallModel(Stateful):
    """Conntrack policy, no address translation; the outside opens connections only to allowed ports."""

    def __init__(self, name: str, config: IdleFirewall, scale: TimeScale) -> None:
        super().__init__(name, config, scale)
        self.firewall = config

    def open(self, seg: Segment, outbound: bool, now: float) -> Action:
        """A bare SYN: from the inside always, from the outside only to an allowed port."""
        if not outbound and not self.firewall.allows_inbound(seg.dst[1]):
            return Drop((Dropped.at(now, self.name, seg, outbound, reason=Reason.FILTERED),))
        return super().open(seg, outbound, now)


def model(node: str, config: IdleFirewall, scale: TimeScale, seed: int) -> FirewallModel:
    """The firewall at ``node`` at the lab's time scale (it draws nothing at random: ``seed`` is unused)."""
    return FirewallModel(node, config, scale)
