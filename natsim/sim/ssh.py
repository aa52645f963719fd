"""SSH models (placeholder until the SSH section lands)."""

from __future__ import annotations

from typing import Any

from natsim.sim.middleboxes import register_model
from natsim.sim.network import Action, Forward, MiddleboxModel, Segment
from natsim.sim.timers import LabTiming

PROBES: dict[str, Any] = {}


class ProxyRouter:
    """The ssh-proxy node as TCP probes see it: it routes."""

    def __init__(self, name: str, config: Any) -> None:
        self.name = name
        self.config = config

    def handle(self, seg: Segment, outbound: bool, now: float) -> Action:
        """Route everything (SSH interception is modelled at session level)."""
        return Forward(seg)


@register_model("ssh-proxy")
def _proxy(node: str, config: Any, timing: LabTiming, seed: int) -> MiddleboxModel:
    return ProxyRouter(node, config)
