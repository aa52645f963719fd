"""The STUN service ``natsim serve --stun`` provides (RFC 5389 Binding with RFC 5780 behaviour
discovery; wire behaviour in ``docs/stun.md``) and the ``nat-type`` probe talks to: its ports, and
where a server listens (:class:`StunConfig`)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from natsim.errors import ProbeError
from natsim.probes.service import Service

#: The IANA STUN port, and the second port of an RFC 5780 server (CHANGE-REQUEST change-port).
STUN_PORT = 3478
STUN_ALT_PORT = 3479
STUN = Service("stun", STUN_PORT, "udp")


def alternate_port(port: int) -> int:
    """The server's second port: 3479 beside 3478, else the next one (the one before 65535)."""
    return STUN_ALT_PORT if port == STUN_PORT else port + 1 if port < 65535 else port - 1


@dataclass(frozen=True)
class StunConfig:
    """Where the STUN server listens: ``address`` and ``port``, and with ``alt_address`` the alternate
    address and ``alt_port`` too (RFC 5780); ``rate`` requests per second per source address (bursts
    of twice that). A port of 0 takes a free one (the same on both addresses)."""

    address: str = "0.0.0.0"
    port: int = STUN_PORT
    alt_address: str | None = None
    alt_port: int = STUN_ALT_PORT
    rate: float = 100.0

    def __post_init__(self) -> None:
        for what, value in (("--stun-address", self.address), ("--stun-alt-address", self.alt_address)):
            if value is not None:
                try:
                    ipaddress.IPv4Address(value)
                except ValueError:
                    raise ProbeError(f"{what}: expected an IPv4 address, got {value!r}") from None
        for what, port in (("--stun-port", self.port), ("--stun-alt-port", self.alt_port)):
            if not 0 <= port <= 65535:
                raise ProbeError(f"{what}: must be 0..65535, got {port}")
        if not self.rate > 0:
            raise ProbeError(f"--stun-rate must be positive, got {self.rate}")
        if self.alt_address is None:
            return
        if ipaddress.IPv4Address(self.address).is_unspecified:
            raise ProbeError("--stun-alt-address needs the primary address too (--stun-address, or "
                             "--bind with one of this host's addresses): RFC 5780 answers name both")
        if self.alt_address == self.address:
            raise ProbeError("--stun-alt-address must differ from the primary address")
        if self.alt_port == self.port and self.port != 0:
            raise ProbeError("--stun-alt-port must differ from --stun-port")
