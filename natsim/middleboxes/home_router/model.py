"""The simpy model of a ``home-router``: a NAT on its WAN address."""

from __future__ import annotations

from natsim.middleboxes.home_router.config import HomeRouter
from natsim.middleboxes.nat.model import Nat
from natsim.units import TimeScale


def model(node: str, config: HomeRouter, scale: TimeScale, seed: int) -> Nat:
    """The router at ``node`` (its public address is a label: the model needs no real one)."""
    return Nat(node, config, scale, public=f"{node}-wan", port_preservation=config.port_preservation,
               seed=seed)
