"""``home-router``: a consumer NAT router masquerading a LAN behind its WAN address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from natsim.fields import plain_field
from natsim.middleboxes.nat.config import NatConfig, NatSettings


@dataclass(frozen=True)
class HomeRouter(NatConfig):
    """Consumer NAT router (masquerade) with the shared conntrack knobs and NAT behaviour."""

    kind: ClassVar[str] = "home-router"

    port_preservation: bool = plain_field(True, "keep the LAN host's source port when free", "bool")
    lan: str = plain_field("192.0.2.0/24", "LAN prefix that is masqueraded", "address")

    def addressing(self, node: str) -> NatSettings:
        """The LAN behind the node's WAN address (a label in the model: masquerade takes whatever the
        interface has, and no verdict depends on its value)."""
        return NatSettings(inside=self.lan, pool=None, public=f"{node}-wan")
