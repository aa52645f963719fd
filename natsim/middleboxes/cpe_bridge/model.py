"""The simpy model of a ``cpe-bridge``: its conntrack policy, no address translation."""

from __future__ import annotations

from natsim.middleboxes.conntrack.model import Stateful
from natsim.middleboxes.cpe_bridge.config import CpeBridge
from natsim.units import TimeScale


def model(node: str, config: CpeBridge, scale: TimeScale, seed: int) -> Stateful:
    """The bridge at ``node`` (it draws nothing at random: ``seed`` is unused)."""
    return Stateful(node, config, scale)
