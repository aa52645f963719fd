"""The ruleset of a ``nat``: its translation, conntrack policy and NAT behaviour."""

from __future__ import annotations

from natsim.middleboxes.base import RenderContext, Rendered
from natsim.middleboxes.nat.render import render_nat
from natsim.middleboxes.nat44.config import Nat44


def render(config: Nat44, ctx: RenderContext) -> Rendered:
    """``inside`` to the pool or the outside address, with the conntrack policy and the behaviour."""
    return render_nat(config, ctx)
