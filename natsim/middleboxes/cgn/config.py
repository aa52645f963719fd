"""``cgn``: an ISP's carrier-grade NAT44 (RFC 6888), subscribers in 100.64.0.0/10."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import ClassVar

from natsim.addresses import SHARED_NETWORK
from natsim.errors import ConfigError
from natsim.fields import duration_field, plain_field
from natsim.middleboxes.nat.config import NatConfig, NatSettings
from natsim.middleboxes.nat.pool import pool_range
from natsim.units import format_duration

#: RFC 5382 REQ-5: an established idle timeout of at least 2 h 4 min.
RFC5382_ESTABLISHED = 7440.0
#: RFC 5382 REQ-5: the transitory timeout at least 4 min.
RFC5382_TRANSITORY = 240.0


@dataclass(frozen=True)
class Cgn(NatConfig):
    """Carrier-grade NAT with RFC 5382 defaults."""

    kind: ClassVar[str] = "cgn"

    idle_timeout: float = duration_field(RFC5382_ESTABLISHED, "established idle timeout (RFC 5382 REQ-5)")
    transitory_timeout: float | None = duration_field(
        RFC5382_TRANSITORY, "timeout of the non-established TCP states", optional=True,
        unset="kernel defaults")
    port_preservation: bool = plain_field(True, "keep the subscriber's source port when free", "bool")
    subscribers: str = plain_field("100.64.0.0/10", "inside prefix that is translated", "address")
    pool: str = plain_field("192.0.2.0/30", "public address pool (TEST-NET)", "public-prefix")
    port_range: tuple[int, int] = plain_field((1024, 65535), "ports a subscriber's mappings use",
                                              "port-range")
    ports_per_subscriber: int | None = plain_field(
        None, "connections (each a mapping with its port) one subscriber may hold at once; a new one "
        "beyond is dropped (RFC 6888 REQ-4; nft ct count)", "int", optional=True, minimum=1, maximum=65535,
        unset="no limit")

    def validate(self) -> None:
        """Subscribers must be inside 100.64.0.0/10; the behaviour one natsim renders."""
        net = ipaddress.IPv4Network(self.subscribers, strict=False)
        if not net.subnet_of(SHARED_NETWORK):  # type: ignore[arg-type]
            raise ConfigError(f"cgn.subscribers: {self.subscribers} is outside {SHARED_NETWORK}")
        super().validate()

    def addressing(self, node: str) -> NatSettings:
        """``subscribers`` to ``pool`` (persistent), ``port_range``, its limit."""
        return NatSettings(inside=self.subscribers, pool=self.pool, public=pool_range(self.pool)[0],
                           port_range=self.port_range, ports_per_subscriber=self.ports_per_subscriber)

    def describe(self) -> list[tuple[str, str]]:
        """Its settings in real-world units, then whether they meet RFC 5382 REQ-5 (computed)."""
        return [*super().describe(),
                ("rfc5382_req5", "meets" if self.idle_timeout >= RFC5382_ESTABLISHED else
                 f"violates (< {format_duration(RFC5382_ESTABLISHED)})")]
