"""tcp-send-test: after its idle time, a connection writes ``A`` and expects ``A`` back (echo service).

Dead means the OS reported a timeout (the byte or its answer vanished); a reset or an EOF is
reported as such.
"""

from __future__ import annotations

import asyncio

from natsim.kernel_facts import TCP_RETRIES2_GIVE_UP
from natsim.probes.output import ProbeOutput
from natsim.probes.tcp.engine import LadderRun, default_line, run_ladder
from natsim.probes.tcp.options import TcpProbeOptions, TcpSendOptions
from natsim.probes.tcp.protocol import SEND_BYTE
from natsim.probes.tcp.sock import ProbeConnection, SocketOptions, recv_within, sleep_until, tcp_info
from natsim.report.schema import ConnectionResult, ProbeResult, Verdict

KIND = TcpSendOptions.kind


def read_guard(options: TcpProbeOptions) -> float:
    """Wall seconds to wait for the echo before deciding without the kernel's verdict."""
    timeout_ms = options.user_timeout_ms()
    kernel = timeout_ms / 1000 if timeout_ms is not None else TCP_RETRIES2_GIVE_UP
    return kernel + options.grace_wall


async def test_send(run: LadderRun, conn: ProbeConnection) -> ConnectionResult:
    """Wait for the deadline, write ``A``, read one byte."""
    loop = asyncio.get_running_loop()
    await sleep_until(run.deadline(conn))
    try:
        await loop.sock_sendall(conn.sock, SEND_BYTE)
    except OSError as err:
        return run.failure(conn, err, "write")
    try:
        data = await recv_within(conn.sock, 1, read_guard(run.options))
    except OSError as err:
        return run.failure(conn, err, "read")
    if data is None:
        info = tcp_info(conn.sock)
        if info is not None and info.unacked == 0:
            return run.result(conn, Verdict.ERROR, "read",
                              "the server acknowledged the byte but never answered")
        return run.result(conn, Verdict.DEAD, "read",
                          f"no answer within {read_guard(run.options):g} s and no error from the OS")
    if data == SEND_BYTE:
        return run.result(conn, Verdict.ALIVE)
    if not data:
        return run.result(conn, Verdict.EOF, "read", "the server closed without answering")
    return run.result(conn, Verdict.ERROR, "read", f"unexpected answer {data!r}")


def send_line(result: ConnectionResult) -> str:
    """The original's ``[+] Connection N worked`` / ``[-] Connection N is dead (read)``."""
    if result.verdict is Verdict.ALIVE:
        return f"[+] Connection {result.index} worked"
    return default_line(result)


async def run_send(options: TcpProbeOptions, output: ProbeOutput | None = None) -> ProbeResult:
    """Run tcp-send-test against the echo service of ``options.server``."""
    sockopts = SocketOptions(user_timeout_ms=options.user_timeout_ms(), so_keepalive=options.so_keepalive)
    return await run_ladder(KIND, options, output or ProbeOutput(label="send"),
                            socket_options=lambda i: sockopts, test=test_send, line=send_line)
