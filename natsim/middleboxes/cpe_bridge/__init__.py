"""``cpe-bridge``: a cable modem in bridge mode that still tracks connections."""

from natsim.middleboxes.cpe_bridge.config import CpeBridge
from natsim.middleboxes.cpe_bridge.model import model
from natsim.middleboxes.cpe_bridge.render import render
from natsim.middleboxes.registry import MiddleboxKind

KIND = MiddleboxKind(CpeBridge.kind, CpeBridge, render, model, policy=CpeBridge.policy,
                     summary="cable modem in bridge mode that still tracks connections (no IP)")

__all__ = ["KIND", "CpeBridge"]
