"""Bad clients and a stalled backend: logged, other clients still served, no file descriptor leaked."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket

from natsim.probes.ssh.goclient import go_attempt
from natsim.proxy.settings import Limits
from natsim.report.schema import Verdict
from tests.unit.ssh_helpers import GEX, LOCAL, backend, proxy

LIMITS = Limits(sniff_timeout=0.5, handshake_timeout=1.0, login_timeout=3.0, fin_linger=0.5)


def open_fds() -> int:
    """File descriptors of this process."""
    return len(os.listdir("/proc/self/fd"))


async def exchange(port: int, data: bytes, *, read: bool = True, timeout: float = 5.0) -> bytes:
    """Connect, send ``data``, read until the proxy closes (or ``timeout``)."""
    reader, writer = await asyncio.open_connection(LOCAL, port)
    try:
        if data:
            writer.write(data)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        if not read:
            return b""
        got = b""
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(timeout):
                while chunk := await reader.read(65536):
                    got += chunk
        return got
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def settle(server: object, sessions: int) -> None:
    """Wait until the proxy logged ``sessions`` sessions and none is active."""
    for _ in range(200):
        if sum(server.outcomes.values()) >= sessions and server.active == 0:  # type: ignore[attr-defined]
            return
        await asyncio.sleep(0.05)


def test_garbage_huge_banner_and_silence_leave_the_proxy_serving() -> None:
    async def scenario() -> None:
        async with backend(GEX) as bport, proxy(bport, limits=LIMITS) as (srv, _byp, pport):
            warm = await go_attempt(LOCAL, pport, "natsim", "natsim")
            assert warm.verdict is Verdict.OK, warm.error
            await settle(srv, 1)
            before = open_fds()
            garbage = exchange(pport, b"GET / HTTP/1.0\r\n\r\n")
            huge = exchange(pport, b"SSH-2.0-" + b"x" * 1_000_000)
            silent = exchange(pport, b"", timeout=1.5)
            good = go_attempt(LOCAL, pport, "natsim", "natsim", command="echo still here")
            g_out, h_out, s_out, ok = await asyncio.gather(garbage, huge, silent, good)
            assert ok.verdict is Verdict.OK and ok.output == "still here\n"
            assert g_out.startswith(b"SSH-2.0-Go")      # relayed byte-for-byte to the backend
            assert b"PaloAltoNetworks" in h_out         # proxy answered, then dropped the client
            assert s_out.startswith(b"SSH-2.0-Go")      # silence: relayed after the sniff timeout
            await settle(srv, 5)
            assert srv.active == 0
            assert open_fds() == before
            assert srv.outcomes["client-failed"] == 1   # the 1 MB banner
            assert srv.outcomes["relayed"] >= 3         # garbage, silence, the good logins
    asyncio.run(scenario())


def test_stalled_backend_times_out_without_leaking() -> None:
    async def scenario() -> None:
        stalled: list[socket.socket] = []

        async def accept_and_stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            stalled.append(writer.get_extra_info("socket"))
            await reader.read()   # never answers, not even a banner
            writer.close()

        server = await asyncio.start_server(accept_and_stall, LOCAL, 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with proxy(port, limits=LIMITS) as (srv, byp, pport):
                before = open_fds()
                first, second = await asyncio.gather(go_attempt(LOCAL, pport, "natsim", "natsim"),
                                                     go_attempt(LOCAL, pport, "natsim", "natsim"))
                for attempt in (first, second):
                    assert attempt.verdict is Verdict.EOF, attempt.error
                await settle(srv, 2)
                assert srv.outcomes["backend-failed"] == 2
                assert byp.added == []                  # a stall is not a key-exchange refusal
                assert open_fds() == before
        finally:
            server.close()
            await server.wait_closed()
    asyncio.run(scenario())
