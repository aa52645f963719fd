"""The ruleset of a ``home-router``: masquerade plus its conntrack policy."""

from __future__ import annotations

from natsim.middleboxes.base import RenderContext, Rendered
from natsim.middleboxes.home_router.config import HomeRouter
from natsim.middleboxes.nat.render import render_nat


def render(config: HomeRouter, ctx: RenderContext) -> Rendered:
    """Masquerade the LAN, with the conntrack policy."""
    return render_nat(config, ctx, subscribers=config.lan, pool=None, port_range=None,
                      port_preservation=config.port_preservation)
