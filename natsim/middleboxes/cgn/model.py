"""The simpy model of a ``cgn``: a NAT on the pool's first address."""

from __future__ import annotations

from natsim.middleboxes.cgn.config import Cgn
from natsim.middleboxes.nat.model import Nat
from natsim.middleboxes.nat.render import pool_range
from natsim.units import TimeScale


def model(node: str, config: Cgn, scale: TimeScale, seed: int) -> Nat:
    """The CGN at ``node``."""
    return Nat(node, config, scale, public=pool_range(config.pool)[0], port_range=config.port_range,
               port_preservation=config.port_preservation, seed=seed)
