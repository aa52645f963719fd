"""The three UDP idle probes: what each flow does after its first exchange, and the ladder that runs them.

* **udp-send** — after idle *i* the client sends ECHO; an answer within the grace is alive. A NAT whose
  mapping expired makes a new one for it, so the answer also says whether the server now sees another
  source (``re-mapped``).
* **udp-recv** — right after its first exchange the client sends LATER(*i*) and stays silent; the
  server answers *i* seconds later from outside: alive when it arrives (the binding survived), dead
  when nothing arrives within the grace.
* **udp-keepalive** — udp-recv, with the client sending KEEP every ``interval`` while it waits: does
  an outbound refresh keep the binding open through the server's silence?

An ICMP port unreachable about a flow (ECONNREFUSED on its connected socket) is ``refused``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from natsim.errors import ProbeError
from natsim.probes.idle_ladder import LadderRun, Liner, default_line, sleep_until, test_rungs
from natsim.probes.output import ProbeOutput, minutes_seconds
from natsim.probes.udp.datagram import Datagram, Op
from natsim.probes.udp.flow import RESEND_WALL, Flow, describe_error, open_flows, show, udp_verdict
from natsim.probes.udp.options import (
    UdpKeepaliveOptions,
    UdpProbeOptions,
    UdpRecvOptions,
    UdpSendOptions,
    delays,
)
from natsim.report.schema import ConnectionResult, ProbeResult, Verdict, estimate_timeout
from natsim.units import format_duration

UdpRun = LadderRun[UdpProbeOptions]
Tester = Callable[[UdpRun, Flow], Awaitable[ConnectionResult]]


def failure(run: UdpRun, flow: Flow, err: OSError, how: str = "") -> ConnectionResult:
    """The verdict for an OS error met while doing ``how``."""
    return run.result(flow, udp_verdict(err), how, describe_error(err))


def mapping_detail(flow: Flow, answer: Datagram) -> str:
    """``'mapping 192.0.2.1:40000'`` or ``'re-mapped: 192.0.2.1:40000 -> 192.0.2.1:1025'``."""
    if answer.observed == flow.mapping:
        return f"mapping {show(answer.observed)}"
    return f"re-mapped: {show(flow.mapping)} -> {show(answer.observed)}"


async def test_send(run: UdpRun, flow: Flow) -> ConnectionResult:
    """Wait for the deadline, send ECHO, wait ``grace`` for its answer."""
    await sleep_until(run.deadline(flow))
    try:
        seq = await flow.send(Op.ECHO)
    except OSError as err:
        return failure(run, flow, err, "send")
    try:
        answer = await flow.answer(seq, run.now() + run.options.grace_wall)
    except OSError as err:
        return failure(run, flow, err, "answer")
    if answer is None:
        return run.result(flow, Verdict.DEAD, "answer",
                          f"no answer within {run.options.grace_wall:g} s")
    return run.result(flow, Verdict.ALIVE, "", mapping_detail(flow, answer))


async def ask_later(flow: Flow, seconds: int) -> int:
    """Send LATER(``seconds``) right after the first exchange; the flow's idle starts now."""
    seq = await flow.send(Op.LATER, seconds)
    flow.connected_at = asyncio.get_running_loop().time()
    return seq


async def wait_later(run: UdpRun, flow: Flow, seq: int, *, how: str = "answer") -> ConnectionResult:
    """Wait for the delayed answer until the deadline plus the grace."""
    try:
        answer = await flow.answer(seq, run.deadline(flow) + run.options.grace_wall)
    except OSError as err:
        return failure(run, flow, err, how)
    if answer is None:
        return run.result(flow, Verdict.DEAD, how,
                          f"no answer within {run.options.grace_wall:g} s after the server's deadline")
    detail = mapping_detail(flow, answer)
    early = run.deadline(flow) - run.now()
    if early > 0.5:  # the server waited less than asked: its time scale differs from ours
        detail += f" (early by {early * run.options.time_scale:.0f} s: check the server's --time-scale)"
    return run.result(flow, Verdict.ALIVE, "", detail)


async def keep_sending(run: UdpRun, flow: Flow) -> None:
    """Send KEEP every ``interval`` (absolute deadlines from the flow's set-up) until cancelled."""
    every = run.options.interval / run.options.time_scale
    beat = 1
    while True:
        await sleep_until(flow.connected_at + beat * every)
        await flow.send(Op.KEEP)
        beat += 1


async def test_keepalive(run: UdpRun, flow: Flow, seq: int) -> ConnectionResult:
    """Refresh the flow every ``interval`` while waiting for the delayed answer."""
    beats = asyncio.ensure_future(keep_sending(run, flow))
    waiting = asyncio.ensure_future(wait_later(run, flow, seq))
    try:
        await asyncio.wait({beats, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if not waiting.done():        # a keepalive met an OS error
            error = beats.exception()
            if isinstance(error, OSError):
                return failure(run, flow, error, "keepalive")
            raise error or ProbeError("keepalive stopped")
        return waiting.result()
    finally:
        for task in (beats, waiting):
            task.cancel()
        await asyncio.gather(beats, waiting, return_exceptions=True)


def recv_line(result: ConnectionResult) -> str:
    """``[+] Connection N returned after Mm Ss`` (the TCP recv probe's line)."""
    if result.verdict is Verdict.ALIVE:
        return (f"[+] Connection {result.index} returned after {minutes_seconds(result.elapsed or 0)}: "
                f"{result.detail}")
    return default_line(result)


def unscaled_timers(options: UdpProbeOptions) -> list[str]:
    """What in a run at ``options.time_scale`` is real (wall-clock) time rather than scaled time."""
    if options.time_scale == 1:
        return []
    return [f"grace period {options.grace_wall:g} s before silence counts as dead is wall-clock",
            f"a flow's first request is re-sent every {RESEND_WALL:g} s (wall-clock) until answered",
            "Linux conntrack moves a UDP flow to its stream timeout only for packets 2 s (wall-clock) "
            "after the flow began"]


@dataclass(frozen=True)
class Plan:
    """How one kind runs its flows: after the first exchange (``later``: send LATER(idle)), the test."""

    test: Callable[[UdpRun, Flow, int], Awaitable[ConnectionResult]]
    later: bool
    line: Liner = default_line


#: Each kind's plan, by the kind's name (as its options class declares it).
PLANS = {
    UdpSendOptions.kind: Plan(lambda run, flow, _: test_send(run, flow), later=False),
    UdpRecvOptions.kind: Plan(lambda run, flow, seq: wait_later(run, flow, seq), later=True, line=recv_line),
    UdpKeepaliveOptions.kind: Plan(test_keepalive, later=True, line=recv_line),
}


async def run_udp(kind: str, options: UdpProbeOptions, output: ProbeOutput | None = None) -> ProbeResult:
    """Run UDP probe ``kind`` against the UDP service of ``options.server``."""
    plan = PLANS[kind]
    if options.port is None:
        raise ProbeError(f"{kind}: no port to send to (the tool takes its kind's service port)")
    seconds = delays(options) if plan.later else []
    output = output or ProbeOutput(label=kind)
    run = UdpRun(kind, options, output)
    run.started = run.now()
    output.total = options.connections
    output.next_due = run.next_due
    output.line(f"[+] Setting up {options.connections} UDP flows to {options.server}:{options.port} "
                f"(idle {format_duration(options.idle(0))} .. "
                f"{format_duration(options.idle(options.connections - 1))})")
    flows = await open_flows(options.server, options.port, options.idles(),
                             timeout=options.setup_timeout_wall)
    seqs: dict[int, int] = {}
    try:
        if plan.later:
            for flow in flows:
                seqs[flow.index] = await ask_later(flow, seconds[flow.index])
    except OSError as err:
        for flow in flows:
            flow.close()
        raise ProbeError(f"a LATER request failed: {describe_error(err)}") from err
    output.line("[+] All flows set up")

    async def test(run: UdpRun, flow: Flow) -> ConnectionResult:
        return await plan.test(run, flow, seqs.get(flow.index, 0))

    results = await test_rungs(run, flows, test, failure, plan.line)
    estimate = estimate_timeout(results)
    output.line(f"[+] Estimate: {estimate.describe()}")
    extra: dict[str, object] = {"step": options.step, "first": options.idle(0),
                                "time_scale": options.time_scale, "grace_wall": options.grace_wall}
    if kind == UdpKeepaliveOptions.kind:
        extra["interval"] = options.interval
    if unscaled := unscaled_timers(options):
        extra["unscaled"] = unscaled
    return ProbeResult(name=options.name or kind, kind=kind, target=f"{options.server}:{options.port}",
                       node=options.node, connections=results, estimate=estimate, extra=extra)
