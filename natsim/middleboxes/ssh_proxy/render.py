"""The ruleset of an ``ssh-proxy``: tproxy diversion, the bypass set, the policy routing that delivers
diverted packets to the proxy daemon, and the rule that keeps the daemon's own connections out of
forwarding.

The daemon's backend connections carry the client's address (``IP_TRANSPARENT``), and their replies
reach the daemon only through ``socket transparent 1``: once the daemon's socket is gone (it aborted
the connection, e.g. on a key-exchange mismatch, while the backend's own RST was on its way), a late
reply matches no socket and, being addressed to the client, would be routed on to the client, which
never had that connection. A connection the node opened itself is marked (``ct mark``) when it starts,
and no packet of it is ever forwarded."""

from __future__ import annotations

from natsim.middleboxes.base import RenderContext, Rendered
from natsim.middleboxes.ssh_proxy.config import SshProxy
from natsim.units import format_duration

TPROXY_MARK = "0x00000001"
ROUTE_TABLE = "100"
#: The conntrack mark of the connections the node itself opens (the daemon's backend connections).
OWN_CONNECTION_MARK = "0x00000002"


def render(config: SshProxy, ctx: RenderContext) -> Rendered:
    """tproxy diversion, the bypass set, the policy routing that delivers diverted packets, and no
    forwarding of the node's own connections (module docstring)."""
    ins = ", ".join(f'"{i}"' for i in ctx.inside)
    port_match = f"tcp dport {{ {', '.join(map(str, config.ports))} }} " if config.ports else ""
    nft = (
        "table inet natsim {\n"
        "\tset bypass {\n\t\ttype ipv4_addr . ipv4_addr . inet_service\n\t\tflags timeout\n\t}\n"
        "\tchain prerouting {\n"
        "\t\ttype filter hook prerouting priority mangle; policy accept;\n"
        f"\t\tmeta l4proto tcp socket transparent 1 meta mark set {TPROXY_MARK} accept\n"
        f"\t\tiifname {{ {ins} }} ip saddr . ip daddr . tcp dport @bypass accept\n"
        f"\t\tiifname {{ {ins} }} meta l4proto tcp {port_match}"
        f"tproxy ip to :{config.listen_port} meta mark set {TPROXY_MARK} accept\n"
        "\t}\n"
        "\tchain output {\n"
        "\t\ttype filter hook output priority filter; policy accept;\n"
        f"\t\tct state new ct mark set {OWN_CONNECTION_MARK}\n"
        "\t}\n"
        "\tchain forward {\n"
        "\t\ttype filter hook forward priority filter; policy accept;\n"
        f"\t\tct mark {OWN_CONNECTION_MARK} drop\n"
        "\t}\n}\n"
    )
    commands = (
        ("ip", "rule", "add", "fwmark", TPROXY_MARK, "lookup", ROUTE_TABLE),
        ("ip", "route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", ROUTE_TABLE),
    )
    sysctls = {"net.ipv4.ip_forward": "1"}
    lo, hi = (ctx.time_scale.to_lab(b) for b in config.bypass)
    real = f"{format_duration(config.bypass[0])}..{format_duration(config.bypass[1])}"
    note = f"bypass {real} -> {lo:g}..{hi:g} s"
    return Rendered(nft=nft, sysctls=sysctls, commands=commands, notes=(note,))
