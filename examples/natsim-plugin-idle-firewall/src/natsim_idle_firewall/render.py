"""The nftables ruleset of an ``idle-firewall``, built with natsim's conntrack helpers.

One ``inet`` table: the ``tcp-idle`` timeout object from the policy table, and a forward chain that
gives new connections those timeouts, applies the untracked policy of each direction (told by the
input interface) and drops new connections from the outside to ports not in ``inbound_ports``.
"""

from __future__ import annotations

from natsim.errors import ConfigError
from natsim.middleboxes.base import RenderContext, Rendered
from natsim.middleboxes.conntrack.render import SET_TIMEOUT, timeout_object, untracked_rules

from natsim_idle_firewall.config import IdleFirewall

#: A TCP packet that opens a connection: a bare SYN.
OPENING = "tcp flags & (fin|syn|rst|ack) == syn ct state new"


def interfaces(names: tuple[str, ...]) -> str:
    """An nft match on packets that came in on any of ``names``."""
    return "iifname { " + ", ".join(f'"{n}"' for n in names) + " }"


def inbound_rule(outside: str, ports: tuple[int, ...]) -> str:
    """Drop new connections from the outside, except to the allowed ports."""
    if not ports:
        return f"{outside} {OPENING} drop"
    allowed = ", ".join(map(str, sorted(set(ports))))
    return f"{outside} tcp dport != {{ {allowed} }} {OPENING} drop"


def render(config: IdleFirewall, ctx: RenderContext) -> Rendered:
    """The firewall at ``ctx``: sysctls and the ruleset (pure: no I/O)."""
    if not ctx.inside or not ctx.outside:
        raise ConfigError(f"{ctx.node}: idle-firewall needs natsim_inside and natsim_outside interfaces")
    policy = config.policy()
    ct_object, timeouts = timeout_object(policy, ctx.node, ctx.time_scale)
    inside, outside = interfaces(ctx.inside), interfaces(ctx.outside)
    forward = [
        SET_TIMEOUT,
        *untracked_rules(inside, policy.untracked_outbound, can_reset=True),
        *untracked_rules(outside, policy.untracked_inbound, can_reset=True),
        inbound_rule(outside, config.inbound_ports),
    ]
    nft = (
        "table inet natsim {\n"
        + ct_object
        + "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n"
        + "".join(f"\t\t{rule}\n" for rule in forward)
        + "\t}\n}\n"
    )
    # loose tracking (Linux's default) is what `pickup` means; `drop`/`reset` are explicit rules
    sysctls = {"net.ipv4.ip_forward": "1", "net.netfilter.nf_conntrack_tcp_loose": "1"}
    return Rendered(nft=nft, sysctls=sysctls, timeouts=tuple(timeouts))
