"""tcp-recv-test: right after connecting, a connection asks the sleep service to answer after its idle
time; it must get its request back then.

The client sends nothing while it waits, so only the server's answer crosses the middleboxes after
the idle time. A connection whose answer does not arrive within the grace period after its deadline
is dead by silence (the server's retransmissions are the ones that time out, far away).
"""

from __future__ import annotations

import asyncio

from natsim.probes.output import ProbeOutput, minutes_seconds
from natsim.probes.tcp.engine import LadderRun, default_line, run_ladder
from natsim.probes.tcp.options import TcpProbeOptions, TcpRecvOptions, sleep_seconds
from natsim.probes.tcp.protocol import REQUEST_MAX, sleep_request
from natsim.probes.tcp.sock import ProbeConnection, SocketOptions, recv_within
from natsim.report.schema import ConnectionResult, ProbeResult, Verdict

KIND = TcpRecvOptions.kind


async def test_recv(run: LadderRun, conn: ProbeConnection, request: bytes) -> ConnectionResult:
    """Wait for the server's answer until the deadline plus the grace period."""
    give_up = run.deadline(conn) + run.options.grace_wall
    reply = b""
    while len(reply) < len(request):
        try:
            data = await recv_within(conn.sock, REQUEST_MAX, give_up - run.now())
        except OSError as err:
            return run.failure(conn, err, "read")
        if data is None:
            return run.result(conn, Verdict.DEAD, "read",
                              f"no answer within {run.options.grace_wall:g} s after the server's deadline")
        if not data:
            if reply:
                break
            return run.result(conn, Verdict.EOF, "read", "the server closed without answering")
        reply += data
    if reply != request:
        return run.result(conn, Verdict.ERROR, "read", f"answer {reply!r} differs from request {request!r}")
    early = run.deadline(conn) - run.now()
    detail = reply.decode().strip()
    if early > 0.5:  # the server slept less than asked: its time scale differs from ours
        detail += f" (early by {early * run.options.time_scale:.0f} s: check the server's --time-scale)"
    return run.result(conn, Verdict.ALIVE, "", detail)


def recv_line(result: ConnectionResult) -> str:
    """The original's ``[+] Connection N returned after Mm Ss: <seconds>``."""
    if result.verdict is Verdict.ALIVE:
        return (f"[+] Connection {result.index} returned after "
                f"{minutes_seconds(result.elapsed or 0)}: {result.detail}")
    return default_line(result)


async def run_recv(options: TcpProbeOptions, output: ProbeOutput | None = None) -> ProbeResult:
    """Run tcp-recv-test against the sleep service of ``options.server``."""
    requests = [sleep_request(s) for s in sleep_seconds(options)]
    sockopts = SocketOptions(user_timeout_ms=options.user_timeout_ms(), so_keepalive=options.so_keepalive)
    loop = asyncio.get_running_loop()

    async def send_request(conn: ProbeConnection) -> None:
        await loop.sock_sendall(conn.sock, requests[conn.index])

    async def test(run: LadderRun, conn: ProbeConnection) -> ConnectionResult:
        return await test_recv(run, conn, requests[conn.index])

    return await run_ladder(KIND, options, output or ProbeOutput(label="recv"),
                            socket_options=lambda i: sockopts, test=test, line=recv_line,
                            after_connect=send_request)
