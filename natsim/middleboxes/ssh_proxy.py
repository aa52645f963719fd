"""``ssh-proxy``: a transparent L7 SSH interceptor (the Palo Alto Networks incident).

The firewall node routes between clients and servers. TCP to the intercepted ports is diverted
with ``tproxy`` to the proxy daemon (``natsim.proxy``), which keeps the client's address towards
the backend (``IP_TRANSPARENT``). A tuple the proxy gave up on is put into the ``bypass`` set
with a per-element timeout; the kernel expires it and bypassed packets are only routed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from natsim.errors import ConfigError
from natsim.middleboxes import register
from natsim.middleboxes.base import RenderContext, Rendered, plain_field
from natsim.units import format_duration

PAN_BANNER = "SSH-2.0-PaloAltoNetworks_0.2"
PAN_KEX = ("diffie-hellman-group-exchange-sha256", "diffie-hellman-group-exchange-sha1")
TPROXY_MARK = "0x00000001"
ROUTE_TABLE = "100"


@register
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

    def start_runtime(self, lab: Any, node: str, workdir: Path) -> Any:
        """Start the proxy daemon in ``node`` (called by the lab after the ruleset is applied)."""
        from natsim.probes.ssh_lab import start_proxy

        return start_proxy(lab, node, workdir=workdir)

    def describe(self) -> list[tuple[str, str]]:
        """Settings in real-world units."""
        return [("ports", ",".join(map(str, self.ports)) or "any"), ("banner", self.banner),
                ("kex", ",".join(self.kex)),
                ("bypass", f"{format_duration(self.bypass[0])}..{format_duration(self.bypass[1])}")]

    def render(self, ctx: RenderContext) -> Rendered:
        """tproxy diversion, the bypass set and the policy routing that delivers diverted packets."""
        ins = ", ".join(f'"{i}"' for i in ctx.inside)
        port_match = f"tcp dport {{ {', '.join(map(str, self.ports))} }} " if self.ports else ""
        nft = (
            "table inet natsim {\n"
            "\tset bypass {\n\t\ttype ipv4_addr . ipv4_addr . inet_service\n\t\tflags timeout\n\t}\n"
            "\tchain prerouting {\n"
            "\t\ttype filter hook prerouting priority mangle; policy accept;\n"
            f"\t\tmeta l4proto tcp socket transparent 1 meta mark set {TPROXY_MARK} accept\n"
            f"\t\tiifname {{ {ins} }} ip saddr . ip daddr . tcp dport @bypass accept\n"
            f"\t\tiifname {{ {ins} }} meta l4proto tcp {port_match}"
            f"tproxy ip to :{self.listen_port} meta mark set {TPROXY_MARK} accept\n"
            "\t}\n}\n"
        )
        commands = (
            ("ip", "rule", "add", "fwmark", TPROXY_MARK, "lookup", ROUTE_TABLE),
            ("ip", "route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", ROUTE_TABLE),
        )
        sysctls = {"net.ipv4.ip_forward": "1"}
        lo, hi = (ctx.time_scale.to_lab(b) for b in self.bypass)
        real = f"{format_duration(self.bypass[0])}..{format_duration(self.bypass[1])}"
        note = f"bypass {real} -> {lo:g}..{hi:g} s"
        return Rendered(nft=nft, sysctls=sysctls, commands=commands, notes=(note,))
