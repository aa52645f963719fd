"""``home-router``: a consumer NAT router masquerading a LAN behind its WAN address."""

from natsim.middleboxes.home_router.config import HomeRouter
from natsim.middleboxes.home_router.model import model
from natsim.middleboxes.home_router.render import render
from natsim.middleboxes.registry import MiddleboxKind

KIND = MiddleboxKind(HomeRouter.kind, HomeRouter, render, model, policy=HomeRouter.policy,
                     summary="consumer NAT router: masquerades a LAN behind its WAN address")

__all__ = ["KIND", "HomeRouter"]
