"""The UDP probe tools on 127.0.0.1: verdicts (alive, dead, refused), absolute deadlines, keepalives, set-up
errors, bad input, the CLI and its result.

Time scale 600 turns the default 1-minute step into 0.1 s. A real expired mapping needs a middlebox and
is shown in the root tier; here a stand-in server decides what is answered.
"""

from __future__ import annotations

import asyncio
import errno
import json
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from natsim.errors import ProbeError
from natsim.probes.__main__ import main
from natsim.probes.udp.datagram import Datagram, Op, answer_to, parse, request
from natsim.probes.udp.exchanges import run_udp
from natsim.probes.udp.flow import udp_verdict
from natsim.probes.udp.options import UdpProbeOptions, UdpRecvOptions, delays
from natsim.probes.udp.responder import UdpServiceConfig, start_udp, udp_port
from natsim.report.schema import ProbeResult, RunResult, Verdict
from tests.unit.netutil import stop

SCALE = 600.0  # 1 min → 0.1 s


@asynccontextmanager
async def udp_server(time_scale: float = SCALE) -> AsyncIterator[int]:
    svc = await start_udp(UdpServiceConfig(bind="127.0.0.1", port=0, time_scale=time_scale))
    try:
        yield udp_port(svc)
    finally:
        svc.close()


class StandIn(asyncio.DatagramProtocol):
    """A server that answers what ``decide(datagram, n)`` allows and records every request."""

    def __init__(self, decide: Callable[[Datagram, int], bool]) -> None:
        self.decide = decide
        self.seen: list[Datagram] = []
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        datagram = parse(data)
        self.seen.append(datagram)
        decided = answer_to(data, addr)
        if decided is not None and self.decide(datagram, len(self.seen)):
            reply, seconds = decided
            asyncio.get_running_loop().call_later(seconds / SCALE, self.transport.sendto, reply, addr)


@asynccontextmanager
async def stand_in(decide: Callable[[Datagram, int], bool]) -> AsyncIterator[tuple[StandIn, int]]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(lambda: StandIn(decide),
                                                              local_addr=("127.0.0.1", 0))
    try:
        yield protocol, transport.get_extra_info("sockname")[1]
    finally:
        transport.close()


def wait_udp(port: int) -> None:
    """Wait until the UDP service on ``port`` answers an ECHO (a server process just started)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.1)
        for _ in range(100):
            sock.sendto(request(Op.ECHO, 1, 1), ("127.0.0.1", port))
            try:
                sock.recv(64)
                return
            except OSError:
                continue


def options(port: int, **kwargs: Any) -> UdpProbeOptions:
    defaults: dict[str, Any] = {"server": "127.0.0.1", "port": port, "connections": 4, "time_scale": SCALE,
                                "grace_wall": 0.3}
    return UdpProbeOptions(**{**defaults, **kwargs})


def verdicts(result: ProbeResult) -> list[Verdict]:
    return [c.verdict for c in result.connections]


def test_os_errors_become_verdicts() -> None:
    assert udp_verdict(OSError(errno.ECONNREFUSED, "x")) is Verdict.REFUSED
    assert udp_verdict(OSError(errno.EHOSTUNREACH, "x")) is Verdict.DEAD
    assert udp_verdict(OSError(errno.EACCES, "x")) is Verdict.ERROR


@pytest.mark.parametrize("kind", ["udp-send", "udp-recv", "udp-keepalive"])
def test_every_flow_is_alive_against_the_service_and_none_is_tested_early(kind: str) -> None:
    async def body() -> ProbeResult:
        async with udp_server() as port:
            return await run_udp(kind, options(port, interval=30.0))
    result = asyncio.run(body())
    assert verdicts(result) == [Verdict.ALIVE] * 4
    assert [c.idle for c in result.connections] == [60.0, 120.0, 180.0, 240.0]
    assert all((c.elapsed or 0) >= c.idle for c in result.connections)
    assert all(re.fullmatch(r"mapping 127\.0\.0\.1:\d+", c.detail) for c in result.connections)
    ports = {c.detail for c in result.connections}
    assert len(ports) == 4                     # a flow of its own per connection
    assert result.estimate is not None and result.estimate.upper is None


def test_send_without_an_answer_within_the_grace_is_dead() -> None:
    """The stand-in answers every flow's first exchange (seq 1) and nothing after it."""
    async def body() -> ProbeResult:
        async with stand_in(lambda d, n: d.seq == 1) as (_, port):
            return await run_udp("udp-send", options(port, connections=3))
    result = asyncio.run(body())
    assert verdicts(result) == [Verdict.DEAD] * 3
    assert all(c.how == "answer" and c.detail == "no answer within 0.3 s" for c in result.connections)
    assert result.estimate is not None and result.estimate.upper == 60.0


def test_recv_silence_past_the_grace_is_dead() -> None:
    async def body() -> tuple[ProbeResult, list[Datagram]]:
        async with stand_in(lambda d, n: d.op is Op.ECHO) as (server, port):
            return await run_udp("udp-recv", options(port, connections=2)), server.seen
    result, seen = asyncio.run(body())
    assert verdicts(result) == [Verdict.DEAD, Verdict.DEAD]
    assert result.estimate is not None and result.estimate.upper == 60.0
    assert sorted(d.seconds for d in seen if d.op is Op.LATER) == [60, 120]


def test_keepalive_refreshes_every_interval_until_the_answer() -> None:
    """Idles 3 and 6 min with a 1 min interval: 2 and 5 keepalives (none due at the answer itself)."""
    async def body() -> tuple[ProbeResult, list[Datagram]]:
        async with stand_in(lambda d, n: True) as (server, port):
            opts = options(port, connections=2, first=210.0, step=180.0, interval=60.0)
            return await run_udp("udp-keepalive", opts), server.seen
    result, seen = asyncio.run(body())
    assert verdicts(result) == [Verdict.ALIVE, Verdict.ALIVE]
    keeps: dict[int, int] = {}
    for d in seen:
        if d.op is Op.KEEP:
            keeps[d.token] = keeps.get(d.token, 0) + 1
    assert sorted(keeps.values()) == [3, 6]
    assert result.extra["interval"] == 60.0


def test_a_port_unreachable_after_set_up_is_refused_not_dead() -> None:
    """The server goes away after every flow is set up: the host answers ICMP port unreachable."""
    async def body(kind: str) -> ProbeResult:
        loop = asyncio.get_running_loop()
        transport, server = await loop.create_datagram_endpoint(lambda: StandIn(lambda d, n: True),
                                                                local_addr=("127.0.0.1", 0))
        port = transport.get_extra_info("sockname")[1]
        task = asyncio.ensure_future(run_udp(kind, options(port, connections=2, interval=30.0)))
        while len([d for d in server.seen if d.op is not Op.ECHO or kind == "udp-send"]) < 2:
            await asyncio.sleep(0.01)
        transport.close()
        return await task
    send = asyncio.run(body("udp-send"))
    assert verdicts(send) == [Verdict.REFUSED] * 2
    assert all("ECONNREFUSED" in c.detail for c in send.connections)
    assert send.estimate is not None and send.estimate.upper == 60.0
    keepalive = asyncio.run(body("udp-keepalive"))
    assert verdicts(keepalive) == [Verdict.REFUSED] * 2


def test_no_server_or_a_mute_one_is_a_setup_error_with_exit_code_2(
        capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(ProbeError, match=r"connection 0: .* did not answer: ECONNREFUSED"):
        asyncio.run(run_udp("udp-send", options(port)))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as mute:
        mute.bind(("127.0.0.1", 0))
        with pytest.raises(ProbeError, match=r"no answer from .* within 0\.5 s"):
            asyncio.run(run_udp("udp-recv", options(mute.getsockname()[1], setup_timeout_wall=0.5)))
    assert main(["udp-send", "--server", "127.0.0.1", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ECONNREFUSED" in err


@pytest.mark.parametrize("argv", [
    ["udp-send"],
    ["udp-send", "--server", "h", "--step", "-1m"],
    ["udp-send", "--server", "h", "--connections", "0"],
    ["udp-keepalive", "--server", "h", "--interval", "0"],
    ["udp-recv", "--server", "h", "--step", "soon"],
])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_a_recv_ladder_the_service_cannot_answer_is_one_clear_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ProbeError, match=r"connection 0: a delay of 90\.5 s is not whole seconds"):
        delays(UdpRecvOptions(step=90.5))
    assert main(["udp-recv", "--server", "127.0.0.1", "--step", "90.5s"]) == 2
    assert main(["udp-recv", "--server", "127.0.0.1", "--step", "2h", "--connections", "13"]) == 2
    err = capsys.readouterr().err
    assert "not whole seconds" in err and "outside 0..86400 s" in err
    with pytest.raises(ProbeError, match="--step 0 needs a positive --first"):
        options(1, step=0.0)


def test_cli_prints_lines_and_writes_the_result_schema(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "recv.json"

    async def body() -> int:
        async with udp_server() as port:
            return await asyncio.to_thread(
                main, ["udp-recv", "--server", "127.0.0.1", "--port", str(port), "--connections", "3",
                       "--time-scale", str(SCALE), "--out", str(path), "--name", "r"])
    assert asyncio.run(body()) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(re.match(r"^\[\d+\.\d{6}\] \[[+-]\] ", line) for line in lines), lines
    assert any(re.search(r"\[\+\] Connection 2 returned after 3m \d+s: mapping 127.0.0.1:\d+$", line)
               for line in lines)
    assert lines[-1].endswith("[+] Estimate: no idle timeout up to 3m")
    run = RunResult.load(path)
    probe = run.probes[0]
    assert (run.source, run.time_scale, probe.name, probe.kind) == ("field", SCALE, "r", "udp-recv")
    assert any("2 s (wall-clock)" in note for note in run.unscaled)
    assert json.loads(path.read_text())["schema"] == 1


def test_serve_runs_the_udp_service_beside_the_tcp_ones(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "natsim.probes", "serve", "--bind", "127.0.0.1",
                               "--echo-port", "0", "--sleep-port", "0", "--udp-port", str(port),
                               "--time-scale", str(SCALE), "--quiet"])
    try:
        wait_udp(port)
        client = subprocess.run([sys.executable, "-m", "natsim.probes", "udp-send", "--server", "127.0.0.1",
                                 "--port", str(port), "--connections", "2", "--time-scale", str(SCALE),
                                 "--json"], capture_output=True, text=True, timeout=60, check=False)
    finally:
        stop(server)
    assert client.returncode == 0, client.stderr
    probe = json.loads(client.stdout)["probes"][0]
    assert [c["verdict"] for c in probe["connections"]] == ["alive", "alive"]
