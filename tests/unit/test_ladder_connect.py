"""A connection of a TCP ladder that cannot be set up gets its own verdict (``how="connect"``) and the
others are measured: the tools (real sockets on loopback) and the model (a CGN out of ports)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from natsim.probes.tcp import engine
from natsim.probes.tcp.options import CONNECT_TIMEOUT_WALL
from natsim.probes.tcp.send import run_send
from natsim.probes.tcp.sock import ConnectTimeout
from natsim.report.schema import ProbeResult, Verdict
from natsim.run.predict import predict
from natsim.scenario import load_scenario, load_scenario_text
from tests.unit.test_probes_clients import options, probe_server

SHORT = Path(__file__).resolve().parents[1] / "e2e" / "short"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_refused_connects_are_reset_verdicts_not_a_failed_run() -> None:
    result = asyncio.run(run_send(options(free_port(), connections=2)))
    assert [(c.verdict, c.how) for c in result.connections] == [(Verdict.RESET, "connect")] * 2
    assert all("ECONNREFUSED" in c.detail for c in result.connections)
    assert result.estimate is not None and result.estimate.upper is None   # never idle: bounds nothing


def test_one_connect_timeout_does_not_stop_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    real = engine.open_connection

    async def silent_for_one(index: int, *args: Any, **kwargs: Any) -> Any:
        if index == 1:
            raise ConnectTimeout("no answer from 127.0.0.1 within 10 s")
        return await real(index, *args, **kwargs)

    monkeypatch.setattr(engine, "open_connection", silent_for_one)

    async def body() -> ProbeResult:
        async with probe_server() as (echo, _):
            return await run_send(options(echo, connections=3))
    result = asyncio.run(body())
    assert [(c.verdict, c.how) for c in result.connections] == [
        (Verdict.ALIVE, ""), (Verdict.DEAD, "connect"), (Verdict.ALIVE, "")]
    assert result.connections[1].idle == 120.0


SCENARIO = """
name: port-limit
topology: isp-bridge-cgn
time_scale: 60
middleboxes:
  cpe: {{idle_timeout: 1h}}
  cgn: {{idle_timeout: 4h, ports_per_subscriber: 3}}
probes:
  - name: probe
    kind: {kind}
    options: {{connections: 6, first: {first}, step: 1m}}
"""


@pytest.mark.parametrize(("kind", "gives_up", "detail"), [
    ("tcp-send", 120.0, "ETIMEDOUT"), ("tcp-recv", 120.0, "ETIMEDOUT"),   # their TCP_USER_TIMEOUT
    ("tcp-keepalive", CONNECT_TIMEOUT_WALL * 60, "no answer"),             # the tool's connect timeout
])
def test_model_gives_up_a_connect_that_gets_no_port(kind: str, gives_up: float, detail: str) -> None:
    """Three connections hold the subscriber's 3 ports for 15..17 min: the other three are dead at
    connect, when TCP_USER_TIMEOUT (2 min) or else the tool's connect timeout (10 wall s = 10 min at
    scale 60) ends it; the three are measured."""
    result = predict(load_scenario_text(SCENARIO.format(kind=kind, first="15m"))).probe("probe")
    got = [(c.verdict, c.how) for c in result.connections]
    assert got == [(Verdict.ALIVE, "")] * 3 + [(Verdict.DEAD, "connect")] * 3
    assert [c.elapsed for c in result.connections[3:]] == [pytest.approx(gives_up, abs=2.0)] * 3
    assert [c.detail for c in result.connections[3:]] == [detail] * 3
    assert [c.idle for c in result.connections[3:]] == [18 * 60.0, 19 * 60.0, 20 * 60.0]
    assert result.estimate is not None and result.estimate.upper is None


def test_model_syn_race_of_the_leads_case_matches_the_lab() -> None:
    """The lead's case as the short lab scenario runs it (first 50s): connection 0 closes at 50 s, 10 s
    (167 lab ms) before the three waiting SYNs' 1 s retransmission, which leaves newest first, so
    connection 5 takes the freed port; 3 and 4 reach the 2 min TCP_USER_TIMEOUT while connecting."""
    result = predict(load_scenario(SHORT / "cgn-port-limit-syn-race.yaml")).probe("send")
    assert [(c.verdict, c.how) for c in result.connections] == [
        (Verdict.ALIVE, "")] * 3 + [(Verdict.DEAD, "connect")] * 2 + [(Verdict.ALIVE, "")]
    assert [round(c.elapsed or 0) for c in result.connections[3:]] == [121, 121, 411]


def test_model_recv_closes_its_sockets_so_their_ports_free_as_in_the_lab() -> None:
    """The short lab scenario cgn-port-limit-connect (lab: keepalive #0..#2 alive, #3 dead at connect):
    tcp-recv closes every socket it is done with; left in close_wait, its entries would still hold the
    subscriber's ports when tcp-keepalive starts."""
    result = predict(load_scenario(SHORT / "cgn-port-limit-connect.yaml"))
    for name in ("send", "recv", "keepalive"):
        assert [(c.verdict, c.how) for c in result.probe(name).connections] == [
            (Verdict.ALIVE, "")] * 3 + [(Verdict.DEAD, "connect")], name
