"""``ssh-proxy``: a transparent L7 SSH interceptor (the Palo Alto Networks incident).

The firewall node routes between clients and servers. TCP to the intercepted ports is diverted
with ``tproxy`` to the proxy daemon (``natsim.proxy``), which keeps the client's address towards
the backend (``IP_TRANSPARENT``). A tuple the proxy gave up on is put into the ``bypass`` set
with a per-element timeout; the kernel expires it and bypassed packets are only routed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from natsim.errors import ConfigError
from natsim.fields import plain_field
from natsim.units import format_duration

PAN_BANNER = "SSH-2.0-PaloAltoNetworks_0.2"
PAN_KEX = ("diffie-hellman-group-exchange-sha256", "diffie-hellman-group-exchange-sha1")


@dataclass(frozen=True)
class SshProxy:
    """Configuration of the intercepting SSH proxy (defaults: the incident's firewall)."""

    kind: ClassVar[str] = "ssh-proxy"

    ports: tuple[int, ...] = plain_field((), "intercepted TCP ports (empty: every port)", "ports")
    banner: str = plain_field(PAN_BANNER, "banner shown to clients", "str")
    kex: tuple[str, ...] = plain_field(PAN_KEX, "key exchanges offered to the backend", "str-list")
    bypass: tuple[float, float] = plain_field((3720.0, 3840.0),
                                              "how long a failed tuple passes unproxied (uniform)",
                                              "duration-range")
    listen_port: int = plain_field(50022, "port the proxy daemon listens on inside the firewall", "int")
    seed: int = plain_field(0, "seed for the bypass duration draw", "int")

    def validate(self) -> None:
        """Reject settings the proxy cannot serve."""
        if not self.banner.startswith("SSH-2.0-"):
            raise ConfigError(f"ssh-proxy.banner: must start with 'SSH-2.0-', got {self.banner!r}")
        if not self.kex:
            raise ConfigError("ssh-proxy.kex: at least one key exchange is needed")
        if not 1 <= self.listen_port <= 65535:
            raise ConfigError(f"ssh-proxy.listen_port: {self.listen_port} out of range")
        if self.bypass[0] <= 0:
            raise ConfigError("ssh-proxy.bypass: must be greater than zero")

    def describe(self) -> list[tuple[str, str]]:
        """Settings in real-world units."""
        return [("ports", ",".join(map(str, self.ports)) or "any"), ("banner", self.banner),
                ("kex", ",".join(self.kex)),
                ("bypass", f"{format_duration(self.bypass[0])}..{format_duration(self.bypass[1])}")]
