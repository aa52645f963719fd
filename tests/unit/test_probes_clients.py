"""The TCP probe clients on 127.0.0.1: verdicts, absolute deadlines, output lines, CLI and JSON.

Time scale 600 turns the default 1-minute step into 0.1 s, so a ladder of a few connections runs
in well under a second. Dead-by-silence needs a middlebox and is proven in the root tier.
"""

from __future__ import annotations

import asyncio
import errno
import io
import json
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from natsim.errors import ProbeError
from natsim.probes.__main__ import main
from natsim.probes.output import ProbeOutput, stamp
from natsim.probes.tcp.keepalive import keepalive_settings, run_keepalive
from natsim.probes.tcp.options import TcpProbeOptions, deadline, sleep_seconds
from natsim.probes.tcp.recv import run_recv
from natsim.probes.tcp.send import run_send
from natsim.probes.tcp.server import ProbeServer, ServerConfig
from natsim.probes.tcp.sock import classify_error
from natsim.report.schema import ProbeResult, RunResult, Verdict
from tests.unit.netutil import stop, wait_accepting

SCALE = 600.0  # 1 min → 0.1 s


@asynccontextmanager
async def probe_server(time_scale: float = SCALE) -> AsyncIterator[tuple[int, int]]:
    config = ServerConfig(bind="127.0.0.1", echo_port=0, sleep_port=0, time_scale=time_scale)
    async with ProbeServer(config) as srv:
        yield srv.ports


@asynccontextmanager
async def fake_server(handle: Callable[[socket.socket, int], Awaitable[None]]) -> AsyncIterator[int]:
    """A listener whose n-th accepted connection is handed to ``handle(sock, n)``."""
    loop = asyncio.get_running_loop()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.setblocking(False)
    tasks: list[asyncio.Task[None]] = []

    async def accept() -> None:
        n = 0
        while True:
            sock, _ = await loop.sock_accept(listener)
            tasks.append(asyncio.ensure_future(handle(sock, n)))
            n += 1

    acceptor = asyncio.ensure_future(accept())
    try:
        yield int(listener.getsockname()[1])
    finally:
        acceptor.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(acceptor, *tasks, return_exceptions=True)
        listener.close()


def options(port: int, **kwargs: Any) -> TcpProbeOptions:
    defaults: dict[str, Any] = {"server": "127.0.0.1", "port": port, "connections": 4, "time_scale": SCALE,
                                "grace_wall": 0.5}
    return TcpProbeOptions(**{**defaults, **kwargs})


def verdicts(result: ProbeResult) -> list[Verdict]:
    return [c.verdict for c in result.connections]


@pytest.mark.parametrize(("code", "verdict"), [
    (errno.ETIMEDOUT, Verdict.DEAD), (errno.EHOSTUNREACH, Verdict.DEAD),
    (errno.ECONNRESET, Verdict.RESET), (errno.EPIPE, Verdict.RESET),
    (errno.EACCES, Verdict.ERROR),
])
def test_os_errors_become_verdicts(code: int, verdict: Verdict) -> None:
    assert classify_error(OSError(code, "x")) is verdict


def test_deadline_is_absolute_from_the_connections_own_connect() -> None:
    assert deadline(100.0, 3600.0, 60.0) == 160.0
    assert TcpProbeOptions(server="h").idles()[:3] == [60.0, 120.0, 180.0]
    assert TcpProbeOptions(server="h", first=3480.0, connections=3).idles() == [3480.0, 3540.0, 3600.0]


def test_send_all_worked_and_none_is_tested_early() -> None:
    async def body() -> ProbeResult:
        async with probe_server() as (echo, _):
            return await run_send(options(echo))
    result = asyncio.run(body())
    assert verdicts(result) == [Verdict.ALIVE] * 4
    assert [c.idle for c in result.connections] == [60.0, 120.0, 180.0, 240.0]
    for conn in result.connections:
        assert conn.elapsed is not None and conn.elapsed >= conn.idle
    assert result.estimate is not None and result.estimate.upper is None


def test_send_deadlines_do_not_drift_when_answers_are_slow() -> None:
    """The echo answers 0.3 s late; the original's sequential loop would add that up per connection."""
    async def slow_echo(sock: socket.socket, n: int) -> None:
        loop = asyncio.get_running_loop()
        data = await loop.sock_recv(sock, 64)
        await asyncio.sleep(0.3)
        await loop.sock_sendall(sock, data)
        sock.close()

    async def body() -> ProbeResult:
        async with fake_server(slow_echo) as port:
            return await run_send(options(port, connections=5))
    result = asyncio.run(body())
    assert verdicts(result) == [Verdict.ALIVE] * 5
    lateness = [(c.elapsed or 0) / SCALE - c.idle / SCALE for c in result.connections]
    assert all(0.3 <= late < 0.6 for late in lateness), lateness  # each late by one answer, not i of them


def test_send_reports_resets_and_eof_without_aborting() -> None:
    async def flaky(sock: socket.socket, n: int) -> None:
        loop = asyncio.get_running_loop()
        data = await loop.sock_recv(sock, 64)
        if n % 3 == 1:  # reset
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        elif n % 3 == 0:
            await loop.sock_sendall(sock, data)
        sock.close()  # n % 3 == 2: plain close without answer

    async def body() -> ProbeResult:
        async with fake_server(flaky) as port:
            return await run_send(options(port, connections=6, first=60.0, step=0.0))
    result = asyncio.run(body())
    by_order = sorted(result.connections, key=lambda c: c.elapsed or 0)
    assert sorted(v.value for v in verdicts(result)) == sorted(["alive", "reset", "eof"] * 2)
    assert all(c.how == "read" for c in by_order if c.verdict is not Verdict.ALIVE)
    assert any("ECONNRESET" in c.detail for c in result.connections if c.verdict is Verdict.RESET)


def test_recv_returns_each_request_after_its_idle() -> None:
    async def body() -> ProbeResult:
        async with probe_server() as (_, sleep):
            return await run_recv(options(sleep))
    result = asyncio.run(body())
    assert verdicts(result) == [Verdict.ALIVE] * 4
    assert [c.detail for c in result.connections] == ["60", "120", "180", "240"]
    assert all((c.elapsed or 0) >= c.idle for c in result.connections)


def test_recv_silence_past_the_grace_period_is_dead() -> None:
    async def mute(sock: socket.socket, n: int) -> None:
        await asyncio.get_running_loop().sock_recv(sock, 64)
        await asyncio.sleep(3600)

    async def body() -> ProbeResult:
        async with fake_server(mute) as port:
            return await run_recv(options(port, connections=2, grace_wall=0.2))
    result = asyncio.run(body())
    assert verdicts(result) == [Verdict.DEAD, Verdict.DEAD]
    assert result.estimate is not None and result.estimate.upper == 60.0


def test_recv_needs_whole_seconds_within_a_day() -> None:
    with pytest.raises(ProbeError, match="whole seconds"):
        sleep_seconds(TcpProbeOptions(server="h", step=90.5))
    with pytest.raises(ProbeError, match="limit"):
        sleep_seconds(TcpProbeOptions(server="h", step=3600.0, connections=25))


def test_keepalive_answered_probes_keep_connections_alive() -> None:
    async def body() -> ProbeResult:
        async with probe_server() as (echo, _):  # idles 1 s and 2 s at scale 60
            return await run_keepalive(options(echo, connections=2, time_scale=60.0))
    result = asyncio.run(body())
    assert verdicts(result) == [Verdict.ALIVE, Verdict.ALIVE]
    assert all(c.detail == "keepalive probe answered" for c in result.connections)


def test_keepalive_settings_round_to_whole_seconds_and_say_so() -> None:
    settings = keepalive_settings(TcpProbeOptions(server="h", time_scale=60.0, connections=3,
                                                  keepalive_interval=75.0, keepalive_count=9))
    assert (settings.idles, settings.interval, settings.count) == ([1, 2, 3], 1, 9)
    assert any("TCP_KEEPINTVL" in note and "1m15s" in note for note in settings.unscaled)
    plain = keepalive_settings(TcpProbeOptions(server="h", keepalive_interval=75.0, keepalive_count=9))
    assert (plain.interval, plain.unscaled) == (75, [])


def test_refused_connect_is_a_reset_verdict_of_its_connection(capsys: pytest.CaptureFixture[str]) -> None:
    """Was: a refused connect failed the whole run (exit 2); now each connection gets its verdict."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, not listening: connection refused
        result = asyncio.run(run_send(options(port)))
        assert [(c.verdict, c.how) for c in result.connections] == [(Verdict.RESET, "connect")] * 4
        assert main(["send", "--server", "127.0.0.1", "--port", str(port), "--connections", "1",
                     "--first", "1s"]) == 0
    assert "[-] Connection 0 was reset (connect): ECONNREFUSED" in capsys.readouterr().out


def test_cli_prints_original_lines_and_writes_the_result_schema(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "recv.json"

    async def body() -> int:
        async with probe_server() as ports:
            return await asyncio.to_thread(
                main, ["recv", "--server", "127.0.0.1", "--port", str(ports[1]), "--connections", "3",
                       "--time-scale", str(SCALE), "--out", str(path)])
    assert asyncio.run(body()) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert all(re.match(r"^\[\d+\.\d{6}\] \[[+-]\] ", line) for line in lines), lines
    assert any(re.search(r"\[\+\] Connection 2 returned after 3m \d+s: 180$", line) for line in lines)
    assert lines[-1].endswith("[+] Estimate: no idle timeout up to 3m")
    assert "\r" not in err  # no progress display when stderr is not a terminal
    run = RunResult.load(path)
    assert (run.source, run.time_scale) == ("field", SCALE)
    assert run.probes[0].kind == "tcp-recv" and len(run.probes[0].connections) == 3
    assert any("RTO" in note for note in run.unscaled)
    assert json.loads(path.read_text())["schema"] == 1


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["send"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:   # checked by the option's own declaration (1..5000)
        main(["send", "--server", "127.0.0.1", "--connections", "0"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["send", "--server", "127.0.0.1", "--step", "soon"])
    assert exc.value.code == 2


def test_progress_line_and_stamp() -> None:
    err = io.StringIO()
    output = ProbeOutput(io.StringIO(), err, progress=True, label="send")
    output.total = 130
    output.next_due = lambda: (12, 45.0)
    output.show()
    assert err.getvalue().endswith("send 0/130 tested | next #12 in 45s")
    assert stamp(1732250000.5) == "[1732250000.500000]"


def test_sigterm_keeps_the_verdicts_so_far_as_an_incomplete_result(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        echo = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "natsim.probes", "serve", "--bind", "127.0.0.1",
                               "--echo-port", str(echo), "--sleep-port", "0", "--udp-port", "0", "--quiet"])
    path = tmp_path / "send.json"
    try:
        wait_accepting(echo)
        client = subprocess.Popen([sys.executable, "-m", "natsim.probes", "send", "--server", "127.0.0.1",
                                   "--port", str(echo), "--connections", "4", "--first", "1m",
                                   "--step", "1h", "--time-scale", str(SCALE), "--out", str(path)],
                                  stdout=subprocess.PIPE, text=True)
        assert client.stdout is not None
        for line in client.stdout:  # connection 0 is tested after 0.1 s, connection 1 after 6.1 s
            if "Connection 0 worked" in line:
                break
        client.terminate()
        assert client.wait(timeout=10) == 130  # interrupted: the same code for Ctrl-C, SIGTERM, SIGHUP
    finally:
        stop(server)
    run = RunResult.load(path)
    assert not run.complete and not run.probes[0].complete
    assert verdicts(run.probes[0]) == [Verdict.ALIVE] + [Verdict.SKIPPED] * 3


def test_result_lines_are_the_original_tools_lines() -> None:
    from natsim.probes.tcp.keepalive import keepalive_line
    from natsim.probes.tcp.recv import recv_line
    from natsim.probes.tcp.send import send_line
    from natsim.report.schema import ConnectionResult

    dead = ConnectionResult(59, 3600.0, Verdict.DEAD, "read", 3602.0, "ETIMEDOUT: Connection timed out")
    assert send_line(ConnectionResult(58, 3540.0, Verdict.ALIVE)) == "[+] Connection 58 worked"
    assert send_line(dead) == "[-] Connection 59 is dead (read)"
    assert send_line(ConnectionResult(3, 240.0, Verdict.RESET, "write", 240.0, "ECONNRESET: x")) == \
        "[-] Connection 3 was reset (write): ECONNRESET: x"
    assert recv_line(ConnectionResult(3, 240.0, Verdict.ALIVE, "", 241.5, "240")) == \
        "[+] Connection 3 returned after 4m 1s: 240"
    assert keepalive_line(ConnectionResult(60, 3660.0, Verdict.DEAD, "keepalive")) == \
        "[+] TCP connection died: Connection 60, keepalivetime: 61m 0s"
