"""``nat``: the generic NAT44 kind, every behaviour a setting (the kind device presets are made of:
``cgn`` and ``home-router`` too, ``presets/cgn.yaml`` and ``presets/home-router.yaml``)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import ClassVar

from natsim.errors import ConfigError
from natsim.fields import plain_field
from natsim.middleboxes.nat.config import NatConfig, NatSettings
from natsim.middleboxes.nat.pool import pool_range


@dataclass(frozen=True)
class Nat44(NatConfig):
    """A NAT44 with every behaviour a setting: the generic kind the device presets are made of."""

    kind: ClassVar[str] = "nat"

    inside: str = plain_field("192.0.2.0/24", "inside prefix that is translated", "address")
    inside_within: str | None = plain_field(
        None, "a prefix ``inside`` must lie within (a carrier's subscribers: 100.64.0.0/10, RFC 6598)",
        "address", optional=True, unset="any")
    pool: str | None = plain_field(
        None, "public address pool (TEST-NET; several addresses: a subscriber keeps the one its address "
        "hashes to)", "public-prefix", optional=True, unset="the outside interface's address (masquerade)")
    port_range: tuple[int, int] | None = plain_field(
        None, "ports a mapping may use", "port-range", optional=True, unset="any")
    ports_per_subscriber: int | None = plain_field(
        None, "TCP connections one inside address may hold at once; a new one beyond is dropped (RFC 6888 "
        "REQ-4; nft ct count)", "int", optional=True, minimum=1, maximum=65535, unset="no limit")

    def validate(self) -> None:
        """``inside`` within ``inside_within``; the behaviour one natsim renders."""
        if self.inside_within is not None:
            inside = ipaddress.IPv4Network(self.inside, strict=False)
            if not inside.subnet_of(ipaddress.IPv4Network(self.inside_within, strict=False)):
                raise ConfigError(f"{self.kind}.inside: {self.inside} is outside {self.inside_within}")
        super().validate()

    def addressing(self, node: str) -> NatSettings:
        """``inside`` to ``pool`` (its first address stands for it in the model) or to the node's own
        address (a label in the model: no verdict depends on its value)."""
        public = pool_range(self.pool)[0] if self.pool else f"{node}-wan"
        return NatSettings(inside=self.inside, pool=self.pool, public=public, port_range=self.port_range,
                           ports_per_subscriber=self.ports_per_subscriber)

