"""``cpe-bridge``: a cable modem in bridge mode that still tracks connections.

The bridge lives in the CPE's own namespace with no IP address on the data path;
``net.bridge.bridge-nf-call-iptables=1`` makes bridged IPv4 cross the inet hooks and conntrack.
Direction is told by the bridge port a packet came in on: a bridge-family chain marks it, the inet
forward chain reads the mark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from natsim.errors import ConfigError
from natsim.middleboxes import register
from natsim.middleboxes.base import RenderContext, Rendered, Untracked
from natsim.middleboxes.conntrack import ConntrackConfig, render_ct_timeout, untracked_rules

BRIDGE = "br0"
MARK_OUTBOUND = "0x00000001"
MARK_INBOUND = "0x00000002"


@register
@dataclass(frozen=True)
class CpeBridge(ConntrackConfig):
    """Transparent bridge with connection tracking (defaults: the incident's modem)."""

    kind: ClassVar[str] = "cpe-bridge"

    def validate(self) -> None:
        """A bridge without an address cannot answer with RST."""
        for name in ("untracked_outbound", "untracked_inbound"):
            if getattr(self, name) is Untracked.RESET:
                raise ConfigError(f"cpe-bridge: {name}=reset is not possible on a bridge with no "
                                  "IP address on the data path; use drop or pickup")

    def describe(self) -> list[tuple[str, str]]:
        """Settings in real-world units."""
        return [("mode", "transparent bridge, conntrack on"), *self.conntrack_settings()]

    def render(self, ctx: RenderContext) -> Rendered:
        """Bridge set-up commands, sysctls and the nftables ruleset."""
        if len(ctx.inside) != 1 or len(ctx.outside) != 1:
            raise ConfigError(f"{ctx.node}: cpe-bridge needs exactly one inside and one outside port")
        inside, outside = ctx.inside[0], ctx.outside[0]
        timeouts = self.scaled_timeouts(ctx.node, ctx.time_scale)
        forward = [
            "meta l4proto tcp ct state new ct timeout set \"tcp-idle\"",
            *untracked_rules(f"meta mark {MARK_OUTBOUND}", self.untracked_outbound, can_reset=False),
            *untracked_rules(f"meta mark {MARK_INBOUND}", self.untracked_inbound, can_reset=False),
        ]
        nft = (
            "table bridge natsim_dir {\n"
            "\tchain prerouting {\n"
            "\t\ttype filter hook prerouting priority filter; policy accept;\n"
            f"\t\tiifname \"{inside}\" meta mark set {MARK_OUTBOUND}\n"
            f"\t\tiifname \"{outside}\" meta mark set {MARK_INBOUND}\n"
            "\t}\n}\n"
            "table inet natsim {\n"
            + render_ct_timeout("tcp-idle", timeouts)
            + "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n"
            + "".join(f"\t\t{rule}\n" for rule in forward)
            + "\t}\n}\n"
        )
        commands = (
            ("ip", "link", "add", BRIDGE, "type", "bridge", "stp_state", "0", "forward_delay", "0"),
            ("ip", "addr", "flush", "dev", inside),
            ("ip", "addr", "flush", "dev", outside),
            ("ip", "link", "set", inside, "master", BRIDGE),
            ("ip", "link", "set", outside, "master", BRIDGE),
            ("ip", "link", "set", BRIDGE, "up"),
        )
        sysctls = {"net.bridge.bridge-nf-call-iptables": "1",
                   "net.netfilter.nf_conntrack_tcp_loose": "1"}
        return Rendered(nft=nft, sysctls=sysctls, commands=commands,
                        timeouts=tuple(t for _, t in timeouts))
