"""NAT44 rendering shared by ``cgn`` and ``home-router``."""

from __future__ import annotations

import ipaddress

from natsim.middleboxes.base import RenderContext, Rendered
from natsim.middleboxes.conntrack.config import ConntrackConfig
from natsim.middleboxes.conntrack.render import SET_TIMEOUT, timeout_object, untracked_rules


def pool_range(pool: str) -> tuple[str, str]:
    """First and last usable address of a pool prefix (a /32 is one address)."""
    net = ipaddress.ip_network(pool, strict=False)
    hosts = list(net.hosts()) if net.num_addresses > 2 else list(net)
    return str(hosts[0]), str(hosts[-1])


def render_nat(config: ConntrackConfig, ctx: RenderContext, *, subscribers: str, pool: str | None,
               port_range: tuple[int, int] | None, port_preservation: bool) -> Rendered:
    """Ruleset for a NAT44 with conntrack policy: SNAT inside→outside, untracked handling both ways.

    Unknown inbound TCP addressed to the NAT itself is handled in the input chain (the NAT's own
    stack would otherwise answer it with RST); unknown forwarded TCP in the forward chain.
    """
    policy = config.policy()
    ct_object, timeouts = timeout_object(policy, ctx.node, ctx.time_scale)
    ins = ", ".join(f'"{i}"' for i in ctx.inside)
    outs = ", ".join(f'"{i}"' for i in ctx.outside)
    inside_match, outside_match = f"iifname {{ {ins} }}", f"iifname {{ {outs} }}"
    forward = [
        SET_TIMEOUT,
        *untracked_rules(inside_match, policy.untracked_outbound, can_reset=True, translates=True),
        *untracked_rules(outside_match, policy.untracked_inbound, can_reset=True, translates=True),
    ]
    inbound_local = []
    verdict = {"drop": "drop", "reset": "reject with tcp reset"}.get(policy.untracked_inbound.value)
    if verdict:
        inbound_local.append(f"{outside_match} meta l4proto tcp ct state new,invalid {verdict}")
    flags = [] if port_preservation else ["random"]
    if pool is not None:
        first, last = pool_range(pool)
        address = first if first == last else f"{first}-{last}"
        if first != last:
            flags.append("persistent")
        ported = f"snat ip to {address}" + (f":{port_range[0]}-{port_range[1]}" if port_range else "")
        plain = f"snat ip to {address}"
    else:
        ported = "masquerade" + (f" to :{port_range[0]}-{port_range[1]}" if port_range else "")
        plain = "masquerade"
    suffix = " " + ",".join(flags) if flags else ""
    match = f"oifname {{ {outs} }} ip saddr {subscribers}"
    nat_rules = [f"{match} meta l4proto {{ tcp, udp }} {ported}{suffix}", f"{match} {plain}{suffix}"]
    nft = (
        "table inet natsim {\n"
        + ct_object
        + "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n"
        + "".join(f"\t\t{rule}\n" for rule in forward)
        + "\t}\n"
        + "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n"
        + "".join(f"\t\t{rule}\n" for rule in inbound_local)
        + "\t}\n"
        + "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
        + "".join(f"\t\t{rule}\n" for rule in nat_rules)
        + "\t}\n}\n"
    )
    commands: tuple[tuple[str, ...], ...] = ()
    if pool is not None:
        net = ipaddress.ip_network(pool, strict=False)
        first_ip, last_ip = (ipaddress.ip_address(a) for a in pool_range(pool))
        commands = tuple(("ip", "addr", "add", f"{ipaddress.ip_address(a)}/32", "dev", ctx.outside[0])
                         for a in range(int(first_ip), int(last_ip) + 1)
                         if ipaddress.ip_address(a) in net)
    sysctls = {"net.ipv4.ip_forward": "1", "net.netfilter.nf_conntrack_tcp_loose": "1"}
    return Rendered(nft=nft, sysctls=sysctls, commands=commands, timeouts=tuple(timeouts))
