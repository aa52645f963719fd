"""RFC 5382 (NAT behavioural requirements for TCP): one test per requirement, each returning a
:class:`~natsim.conform.verdict.Verdict`.
"""

from __future__ import annotations

import time

from natsim.conform.context import CAP_LAB, Context, is_nat, tcp_pair
from natsim.conform.timing import Slot, idle_grid, run_schedule
from natsim.conform.verdict import (
    Outcome,
    Verdict,
    judge_alive_after,
    judge_hairpin,
    judge_mapping,
    judge_timeout,
    judge_unsolicited_syn,
)
from natsim.middleboxes.nat.config import RFC5382_ESTABLISHED, RFC5382_TRANSITORY

#: RFC 5382 REQ-5's minimums (one definition, with the ``nat`` kind's describe()).
ESTABLISHED, TRANSITORY = RFC5382_ESTABLISHED, RFC5382_TRANSITORY
UNSOLICITED_WAIT = 6.0  # RFC 5382 REQ-4: no answer for 6 s


def tcp_mapping(ctx: Context) -> Verdict:
    """RFC 5382 REQ-1: endpoint-independent mapping for TCP."""
    title = "RFC 5382 REQ-1 TCP endpoint-independent mapping"
    if not is_nat(ctx):
        return Verdict("rfc5382-req1", title, Outcome.UNTESTABLE, "not a NAT (no translation by the target)")
    port, local = ctx.port(), ctx.port()
    ctx.outside("tcp_listen", name="eim-l", port=port)
    seen = {}
    for i, host in enumerate((ctx.target.server_ip, ctx.target.server_ip2)):
        c = ctx.inside("tcp_connect", name=f"eim{i}", host=host, port=port, local_port=local)
        s = ctx.outside("tcp_accept", name=f"eim{i}", listener="eim-l")
        if c["ok"] and s["ok"]:
            seen[f"{host}:{port}"] = s["peer"]
    verdict = judge_mapping("rfc5382-req1", title, seen)
    verdict.evidence.insert(0, f"internal endpoint {ctx.target.lab.address(ctx.target.inside_host)}:{local}")
    return verdict


def unsolicited_syn(ctx: Context) -> Verdict:
    """RFC 5382 REQ-4: no reply to an unsolicited inbound SYN for 6 s."""
    title = "RFC 5382 REQ-4 unsolicited inbound SYN not answered for 6 s"
    if not is_nat(ctx):
        return Verdict("rfc5382-req4", title, Outcome.UNTESTABLE, "not a NAT (no translation by the target)")
    dst = ctx.external_ip
    # Whether and how fast a middlebox answers is not a timer natsim scales: wait and judge in
    # unscaled seconds.
    port = ctx.port()
    r = ctx.outside("syn_probe", host=dst, port=port, timeout=UNSOLICITED_WAIT + 0.5, sport=ctx.port())
    if not r["ok"]:
        return Verdict("rfc5382-req4", title, Outcome.UNTESTABLE, f"probe failed: {r['error']}")
    verdict = judge_unsolicited_syn("rfc5382-req4", title, r["reply"], r["after"], UNSOLICITED_WAIT + 0.5)
    verdict.evidence.append(f"SYN sent to {dst}:{port} from {ctx.target.outside_host} "
                            "(reply latency is not time-scaled)")
    return verdict


def _idle_tcp(ctx: Context, requirement: str, title: str, threshold: float, half_close: bool) -> Verdict:
    scale = ctx.scale
    tol = ctx.tolerance(threshold)
    grid = idle_grid(threshold / scale, tol / scale, cap_lab=min(CAP_LAB, 1.6 * threshold / scale))
    port = ctx.port()
    listener = f"{requirement}-l"
    ctx.outside("tcp_listen", name=listener, port=port)
    slots = []
    for n, idle in enumerate(grid):
        key = f"{requirement}-{n}"
        tcp_pair(ctx, key, port, listener)
        if half_close:
            ctx.inside("tcp_shutdown", name=key)
            ctx.outside("tcp_recv", name=key, timeout=2.0)  # EOF; the server's ACK closes the exchange
        # idle counts from the connection's last packet, which the last call has just seen
        slots.append(Slot(key, idle, opened=time.monotonic()))

    def probe(slot: Slot) -> None:
        ctx.outside("tcp_send", name=slot.key, data="ping")

    def check(slot: Slot) -> tuple[bool, str]:
        got = ctx.inside("tcp_recv", name=slot.key, timeout=0.05)
        if got.get("result") == "data":
            return True, ""
        back = ctx.outside("tcp_recv", name=slot.key, timeout=0.01)
        return False, "reset" if back.get("error") == "ECONNRESET" else "silently dropped"

    results = run_schedule(slots, probe, check, scale)
    for slot in slots:
        ctx.inside("close", name=slot.key)
        ctx.outside("close", name=slot.key)
    state = "half-closed (client sent FIN)" if half_close else "established"
    verdict = judge_timeout(requirement, title, threshold, results, tol)
    verdict.evidence.insert(0, f"{len(slots)} {state} TCP connections, each idle for its own time, "
                               "then data from the outside")
    return verdict


def established_idle(ctx: Context) -> Verdict:
    """RFC 5382 REQ-5: established idle timeout ≥ 2 h 4 min."""
    return _idle_tcp(ctx, "rfc5382-req5-established", "RFC 5382 REQ-5 established idle timeout ≥ 2h4m",
                     ESTABLISHED, half_close=False)


def transitory_idle(ctx: Context) -> Verdict:
    """RFC 5382 REQ-5: transitory idle timeout ≥ 4 min (measured on half-closed connections)."""
    return _idle_tcp(ctx, "rfc5382-req5-transitory", "RFC 5382 REQ-5 transitory idle timeout ≥ 4m",
                     TRANSITORY, half_close=True)


def hairpin(ctx: Context) -> Verdict:
    """RFC 5382 REQ-8: TCP hairpinning through the external mapping."""
    title = "RFC 5382 REQ-8 TCP hairpinning"
    if not is_nat(ctx):
        return Verdict("rfc5382-req8", title, Outcome.UNTESTABLE, "not a NAT (no translation by the target)")
    port, local = ctx.port(), ctx.port()
    ctx.outside("tcp_listen", name="hp-srv", port=port)
    c = ctx.inside("tcp_connect", name="hp-out", host=ctx.target.server_ip, port=port, local_port=local,
                   reuse_port=True)
    s = ctx.outside("tcp_accept", name="hp-out", listener="hp-srv")
    if not (c["ok"] and s["ok"]):
        return Verdict("rfc5382-req8", title, Outcome.UNTESTABLE, "could not create the mapping")
    mapped = s["peer"]
    listen = ctx.inside("tcp_listen", name="hp-l", port=local, reuse_port=True)
    if not listen["ok"]:
        return Verdict("rfc5382-req8", title, Outcome.UNTESTABLE,
                       f"cannot listen on the mapped internal port: {listen['error']}")
    host, mport = mapped.rsplit(":", 1)
    r = ctx.inside("tcp_connect", name="hp-in", host=host, port=int(mport), timeout=2.0)
    result = "connected" if r["ok"] else f"failed ({r['error']} after {r['after'] * 1000:.1f} ms)"
    seen = ctx.inside("tcp_accept", name="hp-acc", listener="hp-l", timeout=0.5) if r["ok"] else {}
    verdict = judge_hairpin("rfc5382-req8", title, result, seen.get("peer") if seen.get("ok") else None,
                            mapped)
    verdict.evidence.insert(0, f"internal {c['local']} is mapped to {mapped}; a second inside socket "
                               f"connects to {mapped}")
    return verdict


def icmp_keeps_mapping(ctx: Context) -> Verdict:
    """RFC 5382 REQ-10: ICMP errors do not kill the mapping or the connection."""
    title = "RFC 5382 REQ-10 ICMP errors do not end the mapping"
    port = ctx.port()
    ctx.outside("tcp_listen", name="icmp-l", port=port)
    _, mapped = tcp_pair(ctx, "icmp", port, "icmp-l")
    host, mport = mapped.rsplit(":", 1)
    sent = []
    for icmp_type, code in ((3, 1), (3, 3), (11, 0)):
        r = ctx.outside("icmp_error", dst=host, inner_src=host, inner_sport=int(mport),
                        inner_dst=ctx.target.server_ip, inner_dport=port, icmp_type=icmp_type, icmp_code=code)
        sent.append(f"{icmp_type}/{code}" if r["ok"] else f"{icmp_type}/{code} not sent ({r['error']})")
    time.sleep(0.2)
    ctx.outside("tcp_send", name="icmp", data="after-icmp")
    down = ctx.inside("tcp_recv", name="icmp", timeout=1.0).get("result") == "data"
    ctx.inside("tcp_send", name="icmp", data="after-icmp")
    up = ctx.outside("tcp_recv", name="icmp", timeout=1.0).get("result") == "data"
    return judge_alive_after("rfc5382-req10", title,
                             f"ICMP errors {', '.join(sent)} about {mapped} → {ctx.target.server_ip}:{port} "
                             f"sent from {ctx.target.outside_host}",
                             {"outside → inside data": down, "inside → outside data": up})
