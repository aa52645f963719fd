"""The ruleset of the ``nat`` kind (and so of its presets: ``cgn``, ``home-router`` …) from its config's
three records: the conntrack policy, the NAT behaviour and where it translates.

Always: the policy's timeout objects, the untracked policy per direction, a new connection from the
outside to an inside address dropped (a NAT lets nothing in unsolicited), a new UDP flow addressed to
the NAT itself refused as ``udp_refused`` says (before conntrack confirms it, so it holds no tuple),
TCP translated by Linux's masquerade (or ``snat`` to the pool). UDP: Linux's masquerade too when the
behaviour is what it does (:meth:`~natsim.middleboxes.nat.behaviour.NatBehaviour.plain`), natsim's
mapping tables otherwise (:mod:`.tables`, :mod:`.chains`).
"""

from __future__ import annotations

import ipaddress

from natsim.middleboxes.base import RenderContext, Rendered
from natsim.middleboxes.conntrack.render import SET_TIMEOUT, timeout_object, untracked_rules
from natsim.middleboxes.nat.behaviour import NatBehaviour, Refusal
from natsim.middleboxes.nat.chains import Chains, Placement, chains
from natsim.middleboxes.nat.config import NatConfig, NatSettings
from natsim.middleboxes.nat.pool import pool_range
from natsim.middleboxes.nat.tables import Tables

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
               port_preservation: bool, protocols: str = "{ tcp, udp }") -> list[str]:
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
    return [f"{match} meta l4proto {protocols} {ported}{suffix}", f"{match} {plain}{suffix}"]


def pool_commands(pool: str, device: str) -> tuple[tuple[str, ...], ...]:
    """The commands that put every pool address on the outside interface ``device``."""
    net = ipaddress.ip_network(pool, strict=False)
    first_ip, last_ip = (ipaddress.ip_address(a) for a in pool_range(pool))
    return tuple(("ip", "addr", "add", f"{ipaddress.ip_address(a)}/32", "dev", device)
                 for a in range(int(first_ip), int(last_ip) + 1) if ipaddress.ip_address(a) in net)


def _chain(name: str, hook: str, rules: list[str], *, kind: str = "filter", priority: str = "filter") -> str:
    if not rules and kind == "nat" and hook == "prerouting":
        return ""
    return (f"\tchain {name} {{\n\t\ttype {kind} hook {hook} priority {priority}; policy accept;\n"
            + "".join(f"\t\t{rule}\n" for rule in rules) + "\t}\n")


def udp_chains(config: NatConfig, behaviour: NatBehaviour, nat: NatSettings,
               ctx: RenderContext) -> tuple[str, Chains]:
    """The mapping tables' declarations and rules (none when Linux's masquerade is the behaviour)."""
    if behaviour.plain():
        return "", Chains()
    policy = config.policy()
    tables = Tables(behaviour, {"u": policy.udp_timer("unreplied", ctx.time_scale),
                                "s": policy.udp_timer("replied", ctx.time_scale)})
    ins, outs = _names(ctx.inside), _names(ctx.outside)
    place = Placement(from_inside=f"iifname {ins}", from_outside=f"iifname {outs}",
                      to_inside=f"oifname {ins}", to_outside=f"oifname {outs}", inside=nat.inside,
                      pool=nat.pool, port_range=nat.port_range)
    return tables.declarations(), chains(tables, place)


def _names(ifaces: tuple[str, ...]) -> str:
    return "{ " + ", ".join(f'"{i}"' for i in ifaces) + " }"


def render_nat(config: NatConfig, ctx: RenderContext) -> Rendered:
    """Ruleset for a NAT44 with its conntrack policy and behaviour (see the module's docstring).

    Unknown inbound TCP addressed to the NAT itself is handled in the input chain (the NAT's own
    stack would otherwise answer it with RST); unknown forwarded TCP in the forward chain. A pool
    of several addresses is ``persistent``: a subscriber keeps its address (see
    :mod:`natsim.middleboxes.nat.pool`, which the model reads).
    """
    policy, behaviour, nat = config.policy(), config.behaviour(), config.addressing(ctx.node)
    ct_object, timeouts = timeout_object(policy, ctx.node, ctx.time_scale)
    declarations, udp = udp_chains(config, behaviour, nat, ctx)
    inside_match, outside_match = f"iifname {_names(ctx.inside)}", f"iifname {_names(ctx.outside)}"
    forward = [
        f"{outside_match} ip daddr {nat.inside} ct state new ct status ! dnat drop",
        SET_TIMEOUT,
        *untracked_rules(inside_match, policy.untracked_outbound, can_reset=True, translates=True),
        *untracked_rules(outside_match, policy.untracked_inbound, can_reset=True, translates=True),
        *udp.forward,
    ]
    limit_set, limit = limit_rules(inside_match, nat.inside, nat.ports_per_subscriber)
    forward += limit
    local = []
    verdict = {"drop": "drop", "reset": "reject with tcp reset"}.get(policy.untracked_inbound.value)
    if verdict:
        local.append(f"{outside_match} meta l4proto tcp ct state new,invalid {verdict}")
    refused = "reject with icmp port-unreachable" if behaviour.udp_refused is Refusal.ICMP else "drop"
    local.append(f"meta l4proto udp ct state new {refused}")
    translated = f"oifname {_names(ctx.outside)} ip saddr {nat.inside}"
    snat = udp.snat + snat_rules(translated, nat.pool, nat.port_range, behaviour.port_preservation,
                                 "tcp" if udp.snat else "{ tcp, udp }")
    nft = ("table inet natsim {\n" + ct_object + limit_set + declarations
           + _chain("forward", "forward", forward)
           + _chain("input", "input", local)
           + _chain("prerouting", "prerouting", udp.prerouting, kind="nat", priority="dstnat")
           + _chain("postrouting", "postrouting", snat, kind="nat", priority="srcnat")
           + (_chain("recorded", "postrouting", udp.recorded, priority="srcnat + 10") if udp.recorded else "")
           + "}\n")
    commands = pool_commands(nat.pool, ctx.outside[0]) if nat.pool is not None else ()
    # every refused datagram is answered (the model knows no ICMP rate limit): icmp_ratelimit=0
    sysctls = {"net.ipv4.ip_forward": "1", "net.netfilter.nf_conntrack_tcp_loose": "1",
               "net.ipv4.icmp_ratelimit": "0"}
    return Rendered(nft=nft, sysctls=sysctls, commands=commands, timeouts=tuple(timeouts))
