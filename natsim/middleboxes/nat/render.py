"""NAT44 rendering shared by ``cgn`` and ``home-router``."""

from __future__ import annotations

import ipaddress

from natsim.middleboxes.base import RenderContext, Rendered
from natsim.middleboxes.conntrack.config import ConntrackConfig
from natsim.middleboxes.conntrack.render import SET_TIMEOUT, timeout_object, untracked_rules
from natsim.middleboxes.nat.pool import pool_range

#: The dynamic set ``ports_per_subscriber`` counts connections in (``ct count``, per source address).
SUBSCRIBER_SET = "natsim_subscribers"


def limit_rules(inside_match: str, subscribers: str, limit: int | None) -> tuple[str, list[str]]:
    """The set and forward-chain rule that drop a subscriber's new TCP connection beyond ``limit``
    (``nf_conncount``: connections in ``time_wait``/``close`` do not count)."""
    if limit is None:
        return "", []
    declaration = (f"\tset {SUBSCRIBER_SET} {{\n\t\ttype ipv4_addr\n\t\tsize 65535\n"
                   "\t\tflags dynamic\n\t}\n")
    return declaration, [f"{inside_match} ip saddr {subscribers} meta l4proto tcp ct state new "
                         f"add @{SUBSCRIBER_SET} {{ ip saddr ct count over {limit} }} drop"]


def snat_rules(match: str, pool: str | None, port_range: tuple[int, int] | None,
               port_preservation: bool) -> list[str]:
    """The postrouting rules translating packets ``match`` selects: to the pool (``persistent`` when it
    has several addresses), or masquerade; ``random`` without port preservation."""
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
    return [f"{match} meta l4proto {{ tcp, udp }} {ported}{suffix}", f"{match} {plain}{suffix}"]


def pool_commands(pool: str, device: str) -> tuple[tuple[str, ...], ...]:
    """The commands that put every pool address on the outside interface ``device``."""
    net = ipaddress.ip_network(pool, strict=False)
    first_ip, last_ip = (ipaddress.ip_address(a) for a in pool_range(pool))
    return tuple(("ip", "addr", "add", f"{ipaddress.ip_address(a)}/32", "dev", device)
                 for a in range(int(first_ip), int(last_ip) + 1) if ipaddress.ip_address(a) in net)


def render_nat(config: ConntrackConfig, ctx: RenderContext, *, subscribers: str, pool: str | None,
               port_range: tuple[int, int] | None, port_preservation: bool,
               ports_per_subscriber: int | None = None) -> Rendered:
    """Ruleset for a NAT44 with conntrack policy: SNAT inside→outside, untracked handling both ways.

    Unknown inbound TCP addressed to the NAT itself is handled in the input chain (the NAT's own
    stack would otherwise answer it with RST); unknown forwarded TCP in the forward chain. A pool
    of several addresses is ``persistent``: a subscriber keeps its address (see
    :mod:`natsim.middleboxes.nat.pool`, which the model reads).
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
    limit_set, limit = limit_rules(inside_match, subscribers, ports_per_subscriber)
    forward += limit
    inbound_local = []
    verdict = {"drop": "drop", "reset": "reject with tcp reset"}.get(policy.untracked_inbound.value)
    if verdict:
        inbound_local.append(f"{outside_match} meta l4proto tcp ct state new,invalid {verdict}")
    nat_rules = snat_rules(f"oifname {{ {outs} }} ip saddr {subscribers}", pool, port_range,
                           port_preservation)
    nft = (
        "table inet natsim {\n"
        + ct_object
        + limit_set
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
    commands = pool_commands(pool, ctx.outside[0]) if pool is not None else ()
    sysctls = {"net.ipv4.ip_forward": "1", "net.netfilter.nf_conntrack_tcp_loose": "1"}
    return Rendered(nft=nft, sysctls=sysctls, commands=commands, timeouts=tuple(timeouts))
