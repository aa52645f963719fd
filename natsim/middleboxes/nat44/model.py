"""The simpy model of a ``nat``: the shared NAT44 model reading the same config."""

from __future__ import annotations

from natsim.middleboxes.nat.model import Nat
from natsim.middleboxes.nat44.config import Nat44
from natsim.units import TimeScale


def model(node: str, config: Nat44, scale: TimeScale, seed: int) -> Nat:
    """The NAT at ``node``."""
    return Nat(node, config, scale, config.addressing(node), seed=seed)
