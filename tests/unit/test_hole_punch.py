"""The hole-punch probe without a lab: its wire format, the rendezvous, the peers' exchange (in memory and
on loopback sockets), the tool's bad input, and the model of p2p-hole-punch (lab agreement:
tests/netns/test_hole_punch_lab.py)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from natsim.errors import ConfigError
from natsim.expect import check_expectations
from natsim.probes.punch.messages import HEARD, SIZE, BadMessage, Message, Op, parse, session_id
from natsim.probes.punch.peer import PeerRun, run_peer
from natsim.probes.punch.puncher import Puncher
from natsim.probes.punch.rendezvous import SESSION_TTL, Rendezvous, RendezvousConfig, start_rendezvous
from natsim.report.schema import Verdict
from natsim.run.predict import predict
from natsim.scenario import load_scenario, load_scenario_text

A, B, R = ("198.51.100.9", 40000), ("198.51.100.13", 41000), ("203.0.113.10", 16181)


def test_messages_round_trip_and_anything_else_is_refused() -> None:
    peer = Message(Op.PEER, 7, 3, observed=A, peer=B)
    assert parse(peer.encode()) == peer and len(peer.encode()) == SIZE
    assert parse(Message(Op.PUNCH, 7, 4, HEARD).encode()).flags == HEARD
    for bad in (b"", b"x" * SIZE, peer.encode()[:-1], b"NSH1\x09" + bytes(SIZE - 5),
                Message(Op.REGISTER, 7, 1, HEARD).encode(), Message(Op.PUNCH, 7, 1, observed=A).encode()):
        with pytest.raises(BadMessage):
            parse(bad)
    assert session_id("a") == session_id("a") != session_id("b")


def test_the_rendezvous_pairs_two_sources_of_a_session_and_answers_nothing_else() -> None:
    clock = [0.0]
    meet = Rendezvous(clock=lambda: clock[0])
    register = Message(Op.REGISTER, 5, 1).encode()
    assert meet.received(register, A) == [(Message(Op.WAIT, 5, 1, observed=A).encode(), A)]
    assert meet.received(register, B) == [(Message(Op.PEER, 5, 1, observed=B, peer=A).encode(), B),
                                          (Message(Op.PEER, 5, 0, observed=A, peer=B).encode(), A)]
    assert meet.received(register, A) == [(Message(Op.PEER, 5, 1, observed=A, peer=B).encode(), A)]
    assert all(len(data) == len(register) for data, _ in meet.received(register, A))
    for other in (b"garbage", Message(Op.PUNCH, 5, 1).encode(), Message(Op.WAIT, 5, 1, observed=A).encode()):
        assert meet.received(other, A) == []
    clock[0] = SESSION_TTL
    assert meet.received(register, B)[0][0] == Message(Op.WAIT, 5, 1, observed=B).encode()   # forgotten


def test_two_punchers_hear_each_other_and_stop() -> None:
    """In memory, every datagram delivered: each hears the other, knows it was heard, and stops."""
    meet = Rendezvous()
    peers = {A: Puncher(9, R), B: Puncher(9, R)}
    queue = [(data, to, src) for src, p in peers.items() for data, to in [p.register()]]
    for _ in range(10):
        queue += [(d, to, src) for src, p in peers.items() for d, to in p.tick()]
        while queue:
            data, to, src = queue.pop(0)
            out = meet.received(data, src) if to == R else peers[to].on_datagram(data, src)
            queue += [(d, t, R if to == R else to) for d, t in out]
    assert all(p.done and p.heard_from is not None for p in peers.values())
    assert peers[A].peer == B and peers[A].observed == A and peers[A].punches < 4


def test_the_tool_punches_on_loopback() -> None:
    async def both() -> list[Puncher]:
        service = await start_rendezvous(RendezvousConfig(bind="127.0.0.1", port=0))
        try:
            where = ("127.0.0.1", service.port)
            punchers = [Puncher(3, where), Puncher(3, where)]
            run = PeerRun(where, 3, 2.0, 0.05, 3.0, ("127.0.0.1", 0))
            results = await asyncio.gather(*(run_peer(run, p) for p in punchers))
            assert all(heard is not None for heard, _ in results)
            return punchers
        finally:
            service.close()

    assert all(p.done for p in asyncio.run(both()))


def natsim_probe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "natsim.probes", "hole-punch", *args], capture_output=True,
                          text=True, timeout=60, check=False)


def test_bad_input_is_one_line_and_exit_2() -> None:
    for args, said in ((["--rendezvous", "127.0.0.1:x", "--session", "s"], "expected HOST or HOST:PORT"),
                       (["--rendezvous", "no-such-host.invalid", "--session", "s"], "cannot resolve"),
                       (["--rendezvous", "127.0.0.1", "--session", ""], "--session must not be empty"),
                       (["--rendezvous", "127.0.0.1", "--session", "s", "--interval", "0s"], "interval")):
        done = natsim_probe(*args)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and said in lines[-1], done.stderr
        assert len(lines) == 1 or lines[0].startswith("usage:"), done.stderr   # argparse shows the usage


def test_a_rendezvous_that_never_answers_is_dead_at_the_rendezvous(tmp_path: Path) -> None:
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        done = natsim_probe("--rendezvous", f"127.0.0.1:{port}", "--session", "s", "--setup-timeout", "0.6",
                            "--json")
    assert done.returncode == 0, done.stderr
    import json

    from natsim.report.schema import RunResult
    conn = RunResult.from_dict(json.loads(done.stdout)).probes[0].connections[0]
    assert (conn.verdict, conn.how) == (Verdict.DEAD, "rendezvous") and "named no peer" in conn.detail


def test_the_model_predicts_the_scenarios_findings_and_says_where_punches_died() -> None:
    scenario = load_scenario("p2p-hole-punch")
    result = predict(scenario)
    assert [c.describe() for c in check_expectations(result, scenario.expect) if not c.ok] == []
    home = result.probe("cgn-home")
    assert [c.verdict for c in home.connections] == [Verdict.DEAD, Verdict.DEAD]
    assert "nat-b2 has no entry for this inbound UDP datagram" in home.connections[1].explanation
    cone = result.probe("cgn-full-cone").extra["b4"]
    assert cone["heard_from"] != cone["peer"]       # the CGN's punch came from a port nobody announced
    assert result.probe("home-home").extra["a1"]["heard_from"] == "nat-b1-wan:40000"


def test_a_peer_that_is_no_node_is_refused_at_its_line() -> None:
    text = ("topology: p2p-hole-punch\nprobes:\n"
            "  - {name: p, kind: hole-punch, client: a1, server: rendezvous,\n     options: {peer: b9}}\n")
    with pytest.raises(ConfigError, match=r"<text>:4:.*peer: no node 'b9'"):
        load_scenario_text(text)
    with pytest.raises(ConfigError, match=r"<text>:4:.*peer: 'a1' is the probe's client; name another"):
        load_scenario_text(text.replace("b9", "a1"))
    with pytest.raises(ConfigError, match=r"<text>:3:.*hole-punch needs option 'peer': the other peer"):
        load_scenario_text(text.replace(",\n     options: {peer: b9}", ""))
