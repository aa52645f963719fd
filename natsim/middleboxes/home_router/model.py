"""The simpy model of a ``home-router``: a NAT masquerading its LAN behind its WAN address."""

from __future__ import annotations

from natsim.middleboxes.home_router.config import HomeRouter
from natsim.middleboxes.nat.model import Nat
from natsim.units import TimeScale


def model(node: str, config: HomeRouter, scale: TimeScale, seed: int) -> Nat:
    """The router at ``node``."""
    return Nat(node, config, scale, config.addressing(node), seed=seed)
