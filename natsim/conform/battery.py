"""The RFC 5382 (TCP) and RFC 4787 (UDP) conformance battery against a lab middlebox.

:func:`run_battery` brings up the lab around the target, starts an agent on each side and runs
the requested requirements, returning one :class:`Verdict` each (PASS / FAIL / UNTESTABLE, with the
measured value and evidence). Times in verdicts are real-world (lab seconds × time scale).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from natsim.conform.agent_client import Agent
from natsim.conform.target import Target, build_lab, start_target
from natsim.conform.timing import Slot, idle_grid, run_schedule
from natsim.conform.verdict import (
    Outcome,
    Verdict,
    judge_alive_after,
    judge_hairpin,
    judge_mapping,
    judge_timeout,
    judge_unsolicited_syn,
    lifetime_bounds,
)
from natsim.errors import ConfigError
from natsim.lab.capture import node_addresses
from natsim.units import TimeScale

ESTABLISHED = 7440.0   # RFC 5382 REQ-5: 2 h 4 min
TRANSITORY = 240.0     # RFC 5382 REQ-5: 4 min
UDP_TIMER = 120.0      # RFC 4787 REQ-5: 2 min
UNSOLICITED_WAIT = 6.0  # RFC 5382 REQ-4: no answer for 6 s
#: Longest a single timer measurement may run (lab seconds).
CAP_LAB = 45.0


@dataclass
class Context:
    """What the requirement tests share during one battery run."""

    target: Target
    inside: Agent
    outside: Agent
    ports: itertools.count[int] = field(default_factory=lambda: itertools.count(20000))
    udp_lifetime: tuple[float | None, float | None] | None = None
    external_ip: str | None = None

    @property
    def scale(self) -> float:
        """Real-world seconds per lab second."""
        return self.target.scale

    def tolerance(self, threshold: float) -> float:
        """Timing tolerance in real seconds: 1 % of the threshold or 50 ms of lab time."""
        return max(0.01 * threshold, 0.05 * self.scale)

    def port(self) -> int:
        """A fresh port number."""
        return next(self.ports)


def _tcp_pair(ctx: Context, name: str, server_port: int, listener: str,
              host: str | None = None) -> tuple[str, str]:
    """Open a TCP connection inside → outside with one exchange each way; (client local, seen by server)."""
    c = ctx.inside("tcp_connect", name=name, host=host or ctx.target.server_ip, port=server_port)
    if not c["ok"]:
        raise ConfigError(f"cannot connect through {ctx.target.node}: {c['error']}")
    s = ctx.outside("tcp_accept", name=name, listener=listener)
    if not s["ok"]:
        raise ConfigError(f"server did not see the connection: {s['error']}")
    ctx.inside("tcp_send", name=name, data="hello")
    ctx.outside("tcp_recv", name=name, timeout=2.0)
    ctx.outside("tcp_send", name=name, data="hi")
    ctx.inside("tcp_recv", name=name, timeout=2.0)
    return c["local"], s["peer"]


def _is_nat(ctx: Context) -> bool:
    """The target itself translates: the server sees one of the target's own addresses."""
    return ctx.external_ip is not None and ctx.external_ip in node_addresses(ctx.target.lab, ctx.target.node)


def _discover(ctx: Context) -> None:
    port = ctx.port()
    ctx.outside("tcp_listen", name="disc-l", port=port)
    _, seen = _tcp_pair(ctx, "disc", port, "disc-l")
    ctx.external_ip = seen.rsplit(":", 1)[0]
    for agent in (ctx.inside, ctx.outside):
        agent("close", name="disc")
    ctx.outside("close", name="disc-l")


# ---- RFC 5382 (TCP) ---------------------------------------------------------------------------

def tcp_mapping(ctx: Context) -> Verdict:
    """RFC 5382 REQ-1: endpoint-independent mapping for TCP."""
    title = "RFC 5382 REQ-1 TCP endpoint-independent mapping"
    if not _is_nat(ctx):
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
    if not _is_nat(ctx):
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
        _tcp_pair(ctx, key, port, listener)
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
    if not _is_nat(ctx):
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
    _, mapped = _tcp_pair(ctx, "icmp", port, "icmp-l")
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


# ---- RFC 4787 (UDP) ---------------------------------------------------------------------------

def udp_mapping(ctx: Context) -> Verdict:
    """RFC 4787 REQ-1: endpoint-independent mapping for UDP."""
    title = "RFC 4787 REQ-1 UDP endpoint-independent mapping"
    if not _is_nat(ctx):
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


REQUIREMENTS: dict[str, Callable[[Context], Verdict]] = {
    "rfc5382-req1": tcp_mapping,
    "rfc5382-req4": unsolicited_syn,
    "rfc5382-req5-established": established_idle,
    "rfc5382-req5-transitory": transitory_idle,
    "rfc5382-req8": hairpin,
    "rfc5382-req10": icmp_keeps_mapping,
    "rfc4787-req1": udp_mapping,
    "rfc4787-req5": udp_timer,
    "rfc4787-req6": udp_refresh,
}


@dataclass
class ConformReport:
    """Verdicts of one battery run."""

    target: str
    time_scale: float
    settings: dict[str, dict[str, Any]]
    notes: list[str]
    verdicts: list[Verdict]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"target": self.target, "time_scale": self.time_scale, "settings": self.settings,
                "notes": self.notes, "verdicts": [v.to_dict() for v in self.verdicts]}


def select(only: list[str] | None) -> list[str]:
    """Requirement names to run: exact, or a dash-separated prefix (``rfc4787``, ``rfc5382-req5``)."""
    if not only:
        return list(REQUIREMENTS)
    def matches(name: str, wanted: str) -> bool:
        return name == wanted or name.startswith(wanted + "-")

    chosen = [name for name in REQUIREMENTS if any(matches(name, o) for o in only)]
    unknown = [o for o in only if not any(matches(n, o) for n in REQUIREMENTS)]
    if unknown:
        raise ConfigError(f"unknown requirement(s) {', '.join(unknown)}; known: {', '.join(REQUIREMENTS)}")
    return chosen


def run_battery(target: str, settings: Mapping[str, Mapping[str, Any]] | None = None, *,
                time_scale: float = 240.0, only: list[str] | None = None,
                trust: bool = False) -> ConformReport:
    """Bring up the lab around ``target`` (``TOPOLOGY:NODE``) and run the requirements; ``trust``
    allows a topology file that is not shipped with natsim."""
    names = select(only)
    lab, node, notes = build_lab(target, settings or {}, TimeScale(time_scale), trust=trust)
    verdicts = []
    with lab:
        tgt = start_target(lab, node, notes)
        inside, outside = Agent(lab, tgt.inside_host), Agent(lab, tgt.outside_host)
        try:
            ctx = Context(tgt, inside, outside)
            _discover(ctx)
            for name in names:
                verdicts.append(REQUIREMENTS[name](ctx))
        finally:
            inside.close()
            outside.close()
    return ConformReport(target, time_scale, {k: dict(v) for k, v in (settings or {}).items()},
                         tgt.notes, verdicts)
