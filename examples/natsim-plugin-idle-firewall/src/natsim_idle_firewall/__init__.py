"""``idle-firewall``: a routed stateful firewall that forgets idle TCP connections (a natsim plugin).

natsim finds this kind through the ``natsim.middleboxes`` entry point in ``pyproject.toml``, which
names :data:`KIND`: the config class, the ruleset render and the simpy model, all reading one config.
"""

from natsim.middleboxes import MiddleboxKind

from natsim_idle_firewall.config import IdleFirewall
from natsim_idle_firewall.model import model
from natsim_idle_firewall.render import render

KIND = MiddleboxKind("idle-firewall", IdleFirewall, render, model,
                     summary="routed stateful firewall: idle timeout, untracked policy, inbound allow-list")

__all__ = ["KIND", "IdleFirewall"]
