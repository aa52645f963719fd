"""RFC 4787's UDP mapping timer (REQ-5) and which direction refreshes it (REQ-6)."""

from __future__ import annotations

import time

from natsim.conform.context import CAP_LAB, Context
from natsim.conform.timing import Slot, idle_grid, run_schedule
from natsim.conform.verdict import Outcome, Verdict, judge_alive_after, judge_timeout, lifetime_bounds

UDP_TIMER = 120.0      # RFC 4787 REQ-5: 2 min
#: Outbound keepalives of the REQ-6 test, as fractions of the shortest lifetime measured.
KEEPALIVES = (0.3, 0.6, 0.9)


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


def _sleep_until(deadline: float) -> None:
    time.sleep(max(0.0, deadline - time.monotonic()))


def udp_refresh(ctx: Context) -> Verdict:
    """RFC 4787 REQ-6: outbound packets refresh the mapping.

    A mapping whose idle lifetime T lies between L (survived) and D (died, both from REQ-5) is opened
    (request, reply), kept with outbound datagrams at 0.3, 0.6 and 0.9 L, and probed from the outside at
    D plus a margin, with no outbound datagram since 0.9 L: refreshed by the outbound ones it lives until
    0.9 L + T > D; refreshed only by the reply it died at T ≤ D.
    """
    title = "RFC 4787 REQ-6 outbound refresh"
    if ctx.udp_lifetime is None:
        _, ctx.udp_lifetime = _udp_lifetime(ctx)
    survived, died = ctx.udp_lifetime
    if died is None or survived is None:
        return Verdict("rfc4787-req6", title, Outcome.UNTESTABLE,
                       "the mapping's lifetime was not bracketed by the timer measurement (REQ-5)")
    lower, upper = survived / ctx.scale, died / ctx.scale
    margin = max(0.1, 0.05 * upper)
    if KEEPALIVES[-1] * lower + lower <= upper + 2 * margin:
        return Verdict("rfc4787-req6", title, Outcome.UNTESTABLE,
                       f"the lifetime bracket {survived:.0f}..{died:.0f} s is too wide to place the probe")
    port = ctx.port()
    ctx.outside("udp_bind", name="ur-s", port=port)
    ctx.inside("udp_bind", name="ur")
    ctx.inside("udp_send", name="ur", host=ctx.target.server_ip, port=port, data="open")
    got = ctx.outside("udp_recv", name="ur-s", timeout=1.0)["datagrams"]
    if not got:
        return Verdict("rfc4787-req6", title, Outcome.UNTESTABLE, "no mapping could be created")
    host, p = got[0]["from"].rsplit(":", 1)
    ctx.outside("udp_send", name="ur-s", host=host, port=int(p), data="reply")
    start = time.monotonic()
    for fraction in KEEPALIVES:
        _sleep_until(start + fraction * lower)
        ctx.inside("udp_send", name="ur", host=ctx.target.server_ip, port=port, data="keep")
    _sleep_until(start + upper + margin)
    ctx.inside("udp_recv", name="ur", timeout=0.0)
    ctx.outside("udp_send", name="ur-s", host=host, port=int(p), data="ping")
    alive = any(d.get("data") == "ping" for d in ctx.inside("udp_recv", name="ur", timeout=0.3)["datagrams"])
    return judge_alive_after(
        "rfc4787-req6", title,
        f"outbound datagrams at {', '.join(f'{f * survived:.0f}' for f in KEEPALIVES)} s real after the "
        f"mapping's last inbound datagram, then one from the outside at {died + margin * ctx.scale:.0f} s "
        f"(idle mappings live {survived:.0f}..{died:.0f} s)",
        {"datagram from the outside afterwards": alive})
