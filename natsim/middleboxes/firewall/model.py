"""The simpy model of a ``firewall``: the conntrack policy of a router, no address translation.

:class:`~natsim.middleboxes.conntrack.model.Stateful` reads the same policy table the ruleset is
rendered from; a routed firewall behaves as it does (a FIN or RST of no known connection passes
under ``pickup``, as no rule stops it in the lab either).
"""

from __future__ import annotations

from natsim.middleboxes.conntrack.model import Stateful
from natsim.middleboxes.firewall.config import Firewall
from natsim.units import TimeScale


def model(node: str, config: Firewall, scale: TimeScale, seed: int) -> Stateful:
    """The firewall at ``node`` (it draws nothing at random: ``seed`` is unused)."""
    return Stateful(node, config, scale)
