"""The ruleset of a ``cgn``: SNAT to its pool plus its conntrack policy and NAT behaviour."""

from __future__ import annotations

from natsim.middleboxes.base import RenderContext, Rendered
from natsim.middleboxes.cgn.config import Cgn
from natsim.middleboxes.nat.render import render_nat


def render(config: Cgn, ctx: RenderContext) -> Rendered:
    """SNAT subscribers to the pool, with the conntrack policy and the behaviour."""
    return render_nat(config, ctx)
