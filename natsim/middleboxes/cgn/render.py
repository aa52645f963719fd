"""The ruleset of a ``cgn``: SNAT to its pool plus its conntrack policy."""

from __future__ import annotations

from natsim.middleboxes.base import RenderContext, Rendered
from natsim.middleboxes.cgn.config import Cgn
from natsim.middleboxes.nat.render import render_nat


def render(config: Cgn, ctx: RenderContext) -> Rendered:
    """SNAT subscribers to the pool, with the conntrack policy."""
    return render_nat(config, ctx, subscribers=config.subscribers, pool=config.pool,
                      port_range=config.port_range, port_preservation=config.port_preservation,
                      ports_per_subscriber=config.ports_per_subscriber)
