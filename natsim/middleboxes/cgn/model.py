"""The simpy model of a ``cgn``: a NAT from its subscribers to its pool, as its render writes it."""

from __future__ import annotations

from natsim.middleboxes.cgn.config import Cgn
from natsim.middleboxes.nat.model import Nat, NatSettings
from natsim.middleboxes.nat.pool import pool_range
from natsim.units import TimeScale


def settings(config: Cgn) -> NatSettings:
    """What the CGN translates: ``subscribers`` to ``pool`` (persistent), ``port_range``, its limit."""
    return NatSettings(inside=config.subscribers, pool=config.pool, public=pool_range(config.pool)[0],
                       port_range=config.port_range, port_preservation=config.port_preservation,
                       ports_per_subscriber=config.ports_per_subscriber)


def model(node: str, config: Cgn, scale: TimeScale, seed: int) -> Nat:
    """The CGN at ``node``."""
    return Nat(node, config, scale, settings(config), seed=seed)
