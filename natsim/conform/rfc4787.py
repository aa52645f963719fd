"""RFC 4787 (NAT behavioural requirements for UDP): one test per requirement, each returning a
:class:`~natsim.conform.verdict.Verdict`.
"""

from __future__ import annotations

import time

from natsim.conform.context import CAP_LAB, Context, is_nat
from natsim.conform.timing import Slot, idle_grid, run_schedule
from natsim.conform.verdict import (
    Outcome,
    Verdict,
    judge_alive_after,
    judge_mapping,
    judge_timeout,
    lifetime_bounds,
)

UDP_TIMER = 120.0      # RFC 4787 REQ-5: 2 min


def udp_mapping(ctx: Context) -> Verdict:
    """RFC 4787 REQ-1: endpoint-independent mapping for UDP."""
    title = "RFC 4787 REQ-1 UDP endpoint-independent mapping"
    if not is_nat(ctx):
        return Verdict("rfc4787-req1", title, Outcome.UNTESTABLE, "not a NAT (no translation by the target)")
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


def _udp_lifetime(ctx: Context) -> tuple[Verdict, tuple[float | None, float | None]]:
    scale = ctx.scale
    tol = ctx.tolerance(UDP_TIMER)
    grid = idle_grid(UDP_TIMER / scale, tol / scale, cap_lab=CAP_LAB)
    port = ctx.port()
    ctx.outside("udp_bind", name="ut-s", port=port)
    slots, peers = [], {}
    for n, idle in enumerate(grid):
        key = f"ut{n}"
        ctx.inside("udp_bind", name=key)
        ctx.inside("udp_send", name=key, host=ctx.target.server_ip, port=port, data=key)
        slots.append(Slot(key, idle))
    got = ctx.outside("udp_recv", name="ut-s", timeout=1.0)["datagrams"]
    time.sleep(0.05)
    got += ctx.outside("udp_recv", name="ut-s", timeout=0.1)["datagrams"]
    by_key = {slot.key: slot for slot in slots}
    for d in got:
        if d["data"] not in by_key:
            continue
        peers[d["data"]] = d["from"]
        host, p = d["from"].rsplit(":", 1)
        ctx.outside("udp_send", name="ut-s", host=host, port=int(p), data="reply")
        by_key[d["data"]].opened = time.monotonic()  # the reply is the mapping's last packet
    for slot in slots:
        ctx.inside("udp_recv", name=slot.key, timeout=0.2)
    slots = [s for s in slots if s.key in peers]

    def probe(slot: Slot) -> None:
        host, p = peers[slot.key].rsplit(":", 1)
        ctx.outside("udp_send", name="ut-s", host=host, port=int(p), data="ping")

    def check(slot: Slot) -> tuple[bool, str]:
        return bool(ctx.inside("udp_recv", name=slot.key, timeout=0.05)["datagrams"]), ""

    results = run_schedule(slots, probe, check, scale)
    verdict = judge_timeout("rfc4787-req5", "RFC 4787 REQ-5 UDP mapping timer ≥ 2 min", UDP_TIMER,
                            results, tol)
    verdict.evidence.insert(0, f"{len(slots)} UDP mappings (one request, one reply each), then a "
                               "datagram from the outside after each one's idle time")
    return verdict, lifetime_bounds(results)


def udp_timer(ctx: Context) -> Verdict:
    """RFC 4787 REQ-5: UDP mapping timer ≥ 2 min."""
    verdict, ctx.udp_lifetime = _udp_lifetime(ctx)
    return verdict


def udp_refresh(ctx: Context) -> Verdict:
    """RFC 4787 REQ-6: outbound packets refresh the mapping."""
    title = "RFC 4787 REQ-6 outbound refresh"
    if ctx.udp_lifetime is None:
        _, ctx.udp_lifetime = _udp_lifetime(ctx)
    survived, died = ctx.udp_lifetime
    if died is None:
        return Verdict("rfc4787-req6", title, Outcome.UNTESTABLE,
                       "the mapping outlived the timer measurement; nothing to refresh within "
                       f"{CAP_LAB * ctx.scale:.0f} s")
    died_lab = died / ctx.scale
    interval = max(0.05, 0.5 * (survived or died) / ctx.scale)
    port = ctx.port()
    ctx.outside("udp_bind", name="ur-s", port=port)
    ctx.inside("udp_bind", name="ur")
    ctx.inside("udp_send", name="ur", host=ctx.target.server_ip, port=port, data="open")
    got = ctx.outside("udp_recv", name="ur-s", timeout=1.0)["datagrams"]
    if not got:
        return Verdict("rfc4787-req6", title, Outcome.UNTESTABLE, "no mapping could be created")
    peer = got[0]["from"]
    host, p = peer.rsplit(":", 1)
    ctx.outside("udp_send", name="ur-s", host=host, port=int(p), data="reply")
    start = time.monotonic()
    sent = 0
    while time.monotonic() - start < 1.5 * died_lab:
        time.sleep(interval)
        ctx.inside("udp_send", name="ur", host=ctx.target.server_ip, port=port, data="keep")
        sent += 1
    ctx.inside("udp_recv", name="ur", timeout=0.0)
    ctx.outside("udp_recv", name="ur-s", timeout=0.05)
    ctx.outside("udp_send", name="ur-s", host=host, port=int(p), data="ping")
    alive = bool(ctx.inside("udp_recv", name="ur", timeout=0.3)["datagrams"])
    total = (time.monotonic() - start) * ctx.scale
    return judge_alive_after(
        "rfc4787-req6", title,
        f"{sent} outbound datagrams every {interval * ctx.scale:.0f} s real over {total:.0f} s real "
        f"(an idle mapping expired after ≤ {died:.0f} s)",
        {"datagram from the outside afterwards": alive})
