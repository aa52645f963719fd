"""RFC 4787 (NAT behavioural requirements for UDP): mapping, port assignment, filtering and hairpinning,
one test per requirement, each returning a :class:`~natsim.conform.verdict.Verdict`. The timers (REQ-5,
REQ-6) are in :mod:`natsim.conform.rfc4787_timers`. The judges are conform's own
(:mod:`natsim.conform.verdict`): pure rules over the observations.
"""

from __future__ import annotations

import time

from natsim.conform.context import Context, is_nat
from natsim.conform.verdict import (
    Outcome,
    Verdict,
    judge_filtering,
    judge_hairpin,
    judge_mapping,
    judge_port_assignment,
)


def _seen(ctx: Context, socket: str, tag: str, timeout: float = 1.0) -> str | None:
    """The source the outside agent's ``socket`` saw datagram ``tag`` from, or None."""
    got = ctx.outside("udp_recv", name=socket, timeout=timeout)["datagrams"]
    return next((d["from"] for d in got if d.get("data") == tag), None)


def _arrived(ctx: Context, socket: str, tag: str, timeout: float = 0.3) -> str | None:
    """The source the inside agent's ``socket`` got datagram ``tag`` from, or None."""
    got = ctx.inside("udp_recv", name=socket, timeout=timeout)["datagrams"]
    return next((d["from"] for d in got if d.get("data") == tag), None)


def _not_a_nat(requirement: str, title: str) -> Verdict:
    return Verdict(requirement, title, Outcome.UNTESTABLE, "not a NAT (no translation by the target)")


def udp_mapping(ctx: Context) -> Verdict:
    """RFC 4787 REQ-1: endpoint-independent mapping for UDP."""
    title = "RFC 4787 REQ-1 UDP endpoint-independent mapping"
    if not is_nat(ctx):
        return _not_a_nat("rfc4787-req1", title)
    port, local = ctx.port(), ctx.port()
    ctx.outside("udp_bind", name="ueim-s", port=port)
    ctx.inside("udp_bind", name="ueim", port=local)
    for host in (ctx.target.server_ip, ctx.target.server_ip2):
        ctx.inside("udp_send", name="ueim", host=host, port=port, data=f"{host}:{port}")
    got = ctx.outside("udp_recv", name="ueim-s", timeout=1.0)
    time.sleep(0.1)
    got["datagrams"] += ctx.outside("udp_recv", name="ueim-s", timeout=0.2)["datagrams"]
    seen = {d["data"]: d["from"] for d in got["datagrams"]}
    verdict = judge_mapping("rfc4787-req1", title, seen)
    verdict.evidence.insert(0, f"internal endpoint {ctx.target.lab.address(ctx.target.inside_host)}:{local}")
    return verdict


def udp_port_assignment(ctx: Context) -> Verdict:
    """RFC 4787 REQ-3: no port overloading. Two internal endpoints with the same port (the inside host's
    two addresses) send to two different servers; each must get an external endpoint of its own."""
    title = "RFC 4787 REQ-3 UDP port assignment: no port overloading"
    if not is_nat(ctx):
        return _not_a_nat("rfc4787-req3", title)
    port, local = ctx.port(), ctx.port()
    seen = []
    for n, (address, server) in enumerate(((ctx.target.client_ip, ctx.target.server_ip),
                                           (ctx.target.client_ip2, ctx.target.server_ip2))):
        ctx.outside("udp_bind", name=f"upa-s{n}", address=server, port=port)
        ctx.inside("udp_bind", name=f"upa{n}", address=address, port=local)
        ctx.inside("udp_send", name=f"upa{n}", host=server, port=port, data=f"upa{n}")
        seen.append((f"{address}:{local}", _seen(ctx, f"upa-s{n}", f"upa{n}") or ""))
    return judge_port_assignment("rfc4787-req3", title, seen[0], seen[1])


def udp_filtering(ctx: Context) -> Verdict:
    """RFC 4787 REQ-8: after the internal endpoint sent to the server, does a datagram get in from the
    server's address with another port, and from another address?"""
    title = "RFC 4787 REQ-8 UDP filtering: endpoint-independent or address-dependent"
    if not is_nat(ctx):
        return _not_a_nat("rfc4787-req8", title)
    port, other = ctx.port(), ctx.port()
    ctx.inside("udp_bind", name="uf")
    ctx.outside("udp_bind", name="uf-s", address=ctx.target.server_ip, port=port)
    ctx.outside("udp_bind", name="uf-port", address=ctx.target.server_ip, port=other)
    ctx.outside("udp_bind", name="uf-addr", address=ctx.target.server_ip2, port=port)
    ctx.inside("udp_send", name="uf", host=ctx.target.server_ip, port=port, data="open")
    mapped = _seen(ctx, "uf-s", "open")
    if mapped is None:
        return Verdict("rfc4787-req8", title, Outcome.UNTESTABLE, "no mapping could be created")
    host, mport = mapped.rsplit(":", 1)
    delivered = {}
    for socket in ("uf-port", "uf-addr"):
        ctx.outside("udp_send", name=socket, host=host, port=int(mport), data=socket)
        delivered[socket] = _arrived(ctx, "uf", socket) is not None
    verdict = judge_filtering("rfc4787-req8", title, delivered["uf-port"], delivered["uf-addr"])
    verdict.evidence.insert(0, f"the internal endpoint sent to {ctx.target.server_ip}:{port}, mapped to "
                               f"{mapped}")
    return verdict


def udp_hairpin(ctx: Context) -> Verdict:
    """RFC 4787 REQ-9: a second internal endpoint reaches the first one through its external mapping, and
    is seen from its own external endpoint."""
    title = "RFC 4787 REQ-9 UDP hairpinning"
    if not is_nat(ctx):
        return _not_a_nat("rfc4787-req9", title)
    port = ctx.port()
    ctx.outside("udp_bind", name="uh-s", port=port)
    ctx.inside("udp_bind", name="uh-a")
    ctx.inside("udp_bind", name="uh-b", address=ctx.target.client_ip2)
    ctx.inside("udp_send", name="uh-a", host=ctx.target.server_ip, port=port, data="open")
    mapped = _seen(ctx, "uh-s", "open")
    if mapped is None:
        return Verdict("rfc4787-req9", title, Outcome.UNTESTABLE, "no mapping could be created")
    host, mport = mapped.rsplit(":", 1)
    ctx.inside("udp_send", name="uh-b", host=host, port=int(mport), data="hairpin")
    seen = _arrived(ctx, "uh-a", "hairpin", timeout=0.5)
    verdict = judge_hairpin("rfc4787-req9", title, "delivered" if seen else "not delivered", seen, mapped)
    verdict.evidence.insert(0, f"internal endpoint A is mapped to {mapped}; B ({ctx.target.client_ip2}) "
                               f"sends to {mapped}")
    return verdict
