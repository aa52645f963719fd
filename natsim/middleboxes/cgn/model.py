"""The simpy model of a ``cgn``: a NAT from its subscribers to its pool, as its render writes it."""

from __future__ import annotations

from natsim.middleboxes.cgn.config import Cgn
from natsim.middleboxes.nat.model import Nat, NatSettings
from natsim.units import TimeScale


def settings(config: Cgn) -> NatSettings:
    """What the CGN translates: ``subscribers`` to ``pool`` (persistent), ``port_range``, its limit."""
    return config.addressing("cgn")


def model(node: str, config: Cgn, scale: TimeScale, seed: int) -> Nat:
    """The CGN at ``node``."""
    return Nat(node, config, scale, config.addressing(node), seed=seed)
