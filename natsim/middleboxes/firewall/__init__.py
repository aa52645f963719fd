"""``firewall``: a stateful, routed firewall (no NAT)."""

from natsim.middleboxes.firewall.config import Firewall
from natsim.middleboxes.firewall.model import model
from natsim.middleboxes.firewall.render import render
from natsim.middleboxes.registry import MiddleboxKind

KIND = MiddleboxKind(Firewall.kind, Firewall, render, model, policy=Firewall.policy,
                     summary="stateful routed firewall: idle timeouts, untracked packets dropped or reset "
                     "per direction, no NAT")

__all__ = ["KIND", "Firewall"]
