"""The settings of a ``load-balancer``: an L4 virtual IP in front of backends, with an idle timeout and
what a flow meets once it has expired."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from natsim.addresses import check_lab_address
from natsim.errors import ConfigError
from natsim.fields import choice_field, duration_field, plain_field
from natsim.middleboxes.base import DeviceConfig
from natsim.middleboxes.conntrack.policy import ConntrackPolicy, Untracked


class Expiry(enum.StrEnum):
    """What a flow meets once the load balancer has forgotten it."""

    SILENT = "silent"                              # later packets vanish (the sender sees ETIMEDOUT)
    RESET_NEXT_PACKET = "reset-next-packet"        # the next packet from either side gets RST
    RESET_BOTH_AT_EXPIRY = "reset-both-at-expiry"  # both ends get RST when the flow expires


@dataclass(frozen=True)
class LoadBalancer(DeviceConfig):
    """An L4 load balancer: new TCP connections to its virtual IP (the node's address on the inside)
    go to its backends in turn (destination NAT; the backends see the client's address)."""

    kind: ClassVar[str] = "load-balancer"

    idle_timeout: float = duration_field(3600.0, "idle timeout of an established flow")
    transitory_timeout: float | None = duration_field(
        None, "timeout of every non-established TCP state (default: Linux's per-state values)",
        optional=True, unset="kernel defaults")
    expired: Expiry = choice_field(Expiry.SILENT, "what a flow meets once it has expired", Expiry)
    backends: tuple[str, ...] = plain_field(
        ("203.0.113.10", "203.0.113.130"), "addresses of the backends new connections go to, in turn",
        "str-list", item="address")
    ports: tuple[int, ...] = plain_field((), "TCP ports the virtual IP listens on (empty: every port)",
                                         "ports", unset="any")

    def validate(self) -> None:
        """At least one backend; each a lab address, listed once."""
        if not self.backends:
            raise ConfigError("load-balancer.backends: at least one backend address is needed")
        for address in self.backends:
            check_lab_address(address, what="load-balancer.backends")
            if "/" in address:
                raise ConfigError(f"load-balancer.backends: {address} is a prefix; give one address")
            if self.backends.count(address) > 1:
                raise ConfigError(f"load-balancer.backends: {address} is listed twice")

    @property
    def untracked(self) -> Untracked:
        """What a packet of no known flow meets, from either side: RST under ``reset-next-packet``,
        silence otherwise (``reset-both-at-expiry`` has already reset both ends)."""
        return Untracked.RESET if self.expired is Expiry.RESET_NEXT_PACKET else Untracked.DROP

    def policy(self) -> ConntrackPolicy:
        """The policy table the ruleset, the reset daemon and the model read."""
        return ConntrackPolicy.build(self.idle_timeout, self.transitory_timeout, self.untracked,
                                     self.untracked)

    def listens(self, port: int) -> bool:
        """Whether the virtual IP takes connections to ``port``."""
        return not self.ports or port in self.ports
