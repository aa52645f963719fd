"""The probe server on 127.0.0.1: echo and sleep services, bad input, caps, many idle connections."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from natsim.probes.tcp.protocol import BadRequest, parse_sleep_request, sleep_request
from natsim.probes.tcp.server import Admission, ProbeServer, ServerConfig
from tests.unit.netutil import eventually, eventually_sync, stop, wait_accepting


@asynccontextmanager
async def server(**kwargs: Any) -> AsyncIterator[ProbeServer]:
    config = ServerConfig(bind="127.0.0.1", echo_port=0, sleep_port=0, **kwargs)
    async with ProbeServer(config) as srv:
        yield srv


async def talk(port: int, data: bytes, *, timeout: float = 5.0) -> tuple[bytes, str]:
    """Send ``data``, read until the server closes: (reply, 'eof' | 'reset')."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
    except ConnectionError:
        pass
    reply = b""
    how = "eof"
    try:
        async with asyncio.timeout(timeout):
            while chunk := await reader.read(4096):
                reply += chunk
    except ConnectionResetError:
        how = "reset"
    writer.close()
    return reply, how


def run(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(body())


def test_echo_returns_what_it_read_once_and_closes() -> None:
    async def body() -> None:
        async with server() as srv:
            echo, _ = srv.ports
            assert await talk(echo, b"A") == (b"A", "eof")
            reply, _ = await talk(echo, b"x" * 100)
            assert 1 <= len(reply) <= 64 and reply == b"x" * len(reply)  # never more than it read
    run(body)


def test_echo_keeps_an_idle_connection_open() -> None:
    async def body() -> None:
        async with server() as srv:
            reader, writer = await asyncio.open_connection("127.0.0.1", srv.ports[0])
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.3):
                    await reader.read(1)
            assert srv.admission.count == 1
            writer.write(b"A")
            assert await reader.read(10) == b"A"
            writer.close()
    run(body)


def test_sleep_answers_with_the_request_after_number_over_scale_seconds() -> None:
    async def body() -> None:
        async with server(time_scale=1000.0) as srv:
            start = time.monotonic()
            reply, how = await talk(srv.ports[1], b"300\n")
            assert (reply, how) == (b"300\n", "eof")
            assert time.monotonic() - start >= 0.3
    run(body)


@pytest.mark.parametrize("request_bytes", [
    b"1" * 1_000_000 + b"\n",   # a 1 MB line
    b"7" * 65,                  # over-long, no newline
    b"abc\n", b"-5\n", b"\n", b"12 34\n", b"0x10\n", b"3.5\n",
    b"86401\n",                 # above the 24 h limit
])
def test_sleep_closes_on_bad_input_without_reply(request_bytes: bytes,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    async def body() -> None:
        async with server(time_scale=1000.0) as srv:
            reply, _ = await talk(srv.ports[1], request_bytes)
            assert reply == b""
            assert await talk(srv.ports[1], b"10\n") == (b"10\n", "eof")  # still serving
            await eventually(lambda: srv.admission.count == 0, what="every connection released")
    with caplog.at_level(logging.INFO, logger="natsim.serve"):
        run(body)
    assert sum("bad-request" in r.getMessage() for r in caplog.records) == 1


def test_sleep_closes_a_connection_that_sends_nothing(caplog: pytest.LogCaptureFixture) -> None:
    async def body() -> None:
        async with server(request_timeout=0.2) as srv:
            reply, how = await talk(srv.ports[1], b"")
            assert (reply, how) == (b"", "eof")
            _, writer = await asyncio.open_connection("127.0.0.1", srv.ports[1])
            writer.close()  # connect and leave at once
            await eventually(lambda: srv.admission.count == 0, what="every connection released")
    with caplog.at_level(logging.INFO, logger="natsim.serve"):
        run(body)
    messages = [r.getMessage() for r in caplog.records]
    assert any("timeout (idle)" in m for m in messages)
    assert any(m.endswith(" eof") for m in messages)


def test_connections_per_source_are_capped() -> None:
    async def body() -> None:
        async with server(per_source=3) as srv:
            echo, sleep = srv.ports
            held = [await asyncio.open_connection("127.0.0.1", p) for p in (echo, echo, sleep)]
            await eventually(lambda: srv.admission.open == {"127.0.0.1": 3}, what="three admitted")
            assert await talk(echo, b"A") == (b"", "eof")  # the fourth is closed at once
            assert srv.admission.open == {"127.0.0.1": 3}
            for reader, _ in held:  # the first three are untouched
                with pytest.raises(TimeoutError):
                    async with asyncio.timeout(0.05):
                        await reader.read(1)
            held[0][1].close()
            await eventually(lambda: srv.admission.open == {"127.0.0.1": 2}, what="one released")
            assert await talk(echo, b"A") == (b"A", "eof")
            for _, writer in held[1:]:
                writer.close()
    run(body)


def test_admission_counts_total_and_per_source() -> None:
    admission = Admission(per_source=2, total=3)
    assert [admission.admit(s) for s in ("a", "a", "b")] == [None, None, None]
    assert admission.admit("a") is not None and admission.admit("c") is not None
    admission.release("a")
    assert admission.admit("c") is None
    assert admission.open == {"a": 1, "b": 1, "c": 1}


def test_parse_sleep_request() -> None:
    assert parse_sleep_request(b"3600\n") == 3600
    assert parse_sleep_request(b"60\r\n") == 60
    assert parse_sleep_request(b"86400\n") == 86400
    for bad in (b"86401\n", b"60", b"sixty\n", b"1" * 70 + b"\n"):
        with pytest.raises(BadRequest):
            parse_sleep_request(bad)
    assert sleep_request(7800) == b"7800\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_ten_thousand_idle_connections_in_one_process() -> None:
    """10,000 idle connections from 20 source addresses (default per-source cap 512) to one server."""
    echo, sleep = _free_port(), _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "natsim.probes", "serve", "--bind", "127.0.0.1",
                             "--echo-port", str(echo), "--sleep-port", str(sleep),
                             "--udp-port", "0", "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    socks: list[socket.socket] = []

    async def connect_all() -> None:
        loop = asyncio.get_running_loop()
        gate = asyncio.Semaphore(256)

        async def one(i: int) -> None:
            async with gate:
                sock = socket.socket()
                socks.append(sock)
                sock.setblocking(False)
                sock.bind((f"127.0.0.{10 + i % 20}", 0))
                await loop.sock_connect(sock, ("127.0.0.1", echo))
        await asyncio.gather(*(one(i) for i in range(10_000)))

    try:
        wait_accepting(echo)
        asyncio.run(connect_all())
        eventually_sync(lambda: proc.poll() is not None or len(os.listdir(f"/proc/{proc.pid}/fd")) >= 10_000,
                        timeout=30, what="the server accepted 10,000 connections")
        assert proc.poll() is None
        open_fds = len(os.listdir(f"/proc/{proc.pid}/fd"))
        assert open_fds >= 10_000
        status = Path(f"/proc/{proc.pid}/status").read_text().splitlines()
        rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        assert rss_kb < 150_000, f"{rss_kb} kB for 10,000 idle connections"
        with socket.create_connection(("127.0.0.1", echo), timeout=2) as probe:
            probe.sendall(b"A")
            assert probe.recv(1) == b"A"  # still answering
    finally:
        for sock in socks:
            sock.close()
        stop(proc)
