"""The ruleset of a ``cpe-bridge``: a bridge in the CPE's own namespace plus its conntrack policy.

The bridge has no IP address on the data path; ``net.bridge.bridge-nf-call-iptables=1`` makes bridged
IPv4 cross the inet hooks and conntrack. Direction is told by the bridge port a packet came in on: a
bridge-family chain marks it, the inet forward chain reads the mark.
"""

from __future__ import annotations

from natsim.errors import ConfigError
from natsim.middleboxes.base import RenderContext, Rendered
from natsim.middleboxes.conntrack.render import SET_TIMEOUT, timeout_object, untracked_rules
from natsim.middleboxes.cpe_bridge.config import CpeBridge

BRIDGE = "br0"
MARK_OUTBOUND = "0x00000001"
MARK_INBOUND = "0x00000002"


def render(config: CpeBridge, ctx: RenderContext) -> Rendered:
    """Bridge set-up commands, sysctls and the nftables ruleset."""
    if len(ctx.inside) != 1 or len(ctx.outside) != 1:
        raise ConfigError(f"{ctx.node}: cpe-bridge needs exactly one inside and one outside port")
    inside, outside = ctx.inside[0], ctx.outside[0]
    policy = config.policy()
    ct_object, timeouts = timeout_object(policy, ctx.node, ctx.time_scale)
    forward = [
        SET_TIMEOUT,
        *untracked_rules(f"meta mark {MARK_OUTBOUND}", policy.untracked_outbound, can_reset=False),
        *untracked_rules(f"meta mark {MARK_INBOUND}", policy.untracked_inbound, can_reset=False),
    ]
    nft = (
        "table bridge natsim_dir {\n"
        "\tchain prerouting {\n"
        "\t\ttype filter hook prerouting priority filter; policy accept;\n"
        f"\t\tiifname \"{inside}\" meta mark set {MARK_OUTBOUND}\n"
        f"\t\tiifname \"{outside}\" meta mark set {MARK_INBOUND}\n"
        "\t}\n}\n"
        "table inet natsim {\n"
        + ct_object
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
    return Rendered(nft=nft, sysctls=sysctls, commands=commands, timeouts=tuple(timeouts))
