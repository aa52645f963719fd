"""The settings of a ``firewall``: a stateful, routed firewall that translates nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from natsim.middleboxes.conntrack.config import ConntrackConfig


@dataclass(frozen=True)
class Firewall(ConntrackConfig):
    """A routed firewall with connection tracking: idle timeouts per TCP state, and per direction what
    a packet of no known connection meets (``drop``, ``reset`` or ``pickup``)."""

    kind: ClassVar[str] = "firewall"

    def describe(self) -> list[tuple[str, str]]:
        """Its mode, then its settings in real-world units."""
        return [("mode", "routed, stateful, no address translation"), *super().describe()]
