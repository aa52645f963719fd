"""The ruleset of a ``home-router``: masquerade plus its conntrack policy and NAT behaviour."""

from __future__ import annotations

from natsim.middleboxes.base import RenderContext, Rendered
from natsim.middleboxes.home_router.config import HomeRouter
from natsim.middleboxes.nat.render import render_nat


def render(config: HomeRouter, ctx: RenderContext) -> Rendered:
    """Masquerade the LAN, with the conntrack policy and the behaviour."""
    return render_nat(config, ctx)
