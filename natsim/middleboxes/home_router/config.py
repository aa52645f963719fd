"""``home-router``: a consumer NAT router masquerading a LAN behind its WAN address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from natsim.fields import plain_field
from natsim.middleboxes.conntrack.config import ConntrackConfig


@dataclass(frozen=True)
class HomeRouter(ConntrackConfig):
    """Consumer NAT router (masquerade) with the shared conntrack knobs."""

    kind: ClassVar[str] = "home-router"

    lan: str = plain_field("192.0.2.0/24", "LAN prefix that is masqueraded", "address")
    port_preservation: bool = plain_field(True, "keep the LAN host's source port when free", "bool")
