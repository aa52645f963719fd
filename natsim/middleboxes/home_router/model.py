"""The simpy model of a ``home-router``: a NAT masquerading its LAN behind its WAN address."""

from __future__ import annotations

from natsim.middleboxes.home_router.config import HomeRouter
from natsim.middleboxes.nat.model import Nat, NatSettings
from natsim.units import TimeScale


def model(node: str, config: HomeRouter, scale: TimeScale, seed: int) -> Nat:
    """The router at ``node`` (its WAN address is a label: masquerade takes whatever the interface
    has, and no verdict depends on its value)."""
    return Nat(node, config, scale, NatSettings(inside=config.lan, pool=None, public=f"{node}-wan",
                                                port_preservation=config.port_preservation), seed=seed)
