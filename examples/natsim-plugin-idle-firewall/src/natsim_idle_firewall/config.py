"""The settings of an ``idle-firewall``: natsim's shared conntrack knobs plus an inbound allow-list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from natsim.fields import plain_field
from natsim.middleboxes.conntrack.config import ConntrackConfig


@dataclass(frozen=True)
class IdleFirewall(ConntrackConfig):
    """A routed firewall between an inside and an outside network.

    Inherited (all real-world): ``idle_timeout`` (1 h, a common firewall default), ``transitory_timeout``,
    ``untracked_outbound`` and ``untracked_inbound`` (``drop``, ``pickup`` or ``reset``). It has an
    address on the data path, so ``reset`` works both ways.
    """

    kind: ClassVar[str] = "idle-firewall"

    inbound_ports: tuple[int, ...] = plain_field(
        (), "TCP ports the outside may open new connections to (empty: none)", "ports", unset="none")

    def allows_inbound(self, port: int) -> bool:
        """Whether a new connection from the outside to ``port`` is let in."""
        return port in self.inbound_ports
