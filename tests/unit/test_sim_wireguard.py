"""WireGuard in the model: wireguard-go's timers on the outer datagrams, and the wireguard probe's verdicts
behind a NAT with a 30 s UDP timer (measured in the lab: tests/netns/test_wireguard_lab.py)."""

from __future__ import annotations

import pytest
import simpy

from natsim.errors import ConfigError
from natsim.middleboxes.conntrack.model import Stateful
from natsim.middleboxes.cpe_bridge import CpeBridge
from natsim.middleboxes.presets import device
from natsim.probes.udp.wgpeer import DATA, INITIATION, KEEPALIVE, RESPONSE, Peer
from natsim.report.schema import Verdict
from natsim.run.predict import build
from natsim.sim.cttable import UDP_STREAM, UDP_UNREPLIED
from natsim.sim.segment import UDP
from natsim.units import TimeScale
from tests.unit.sim_scenarios import Probe, Scenario


def pair(env: simpy.Environment, keepalive: float = 0.0) -> tuple[Peer, Peer, list[tuple[float, str, str]]]:
    """A client and a server peer wired to each other without a network; the log of what each sent."""
    log: list[tuple[float, str, str]] = []
    peers: dict[str, Peer] = {}

    def sender(me: str, other: str):  # type: ignore[no-untyped-def]
        def send(message: bytes, inner: bytes, what: str) -> None:
            log.append((env.now, me, what))
            env.timeout(0).callbacks.append(lambda _: peers[other].receive(message, inner))
        return send

    got: list[bytes] = []
    peers["client"] = Peer(env, sender("client", "server"), got.append, True, 1.0, keepalive)
    echo = lambda inner: peers["server"].send(inner)  # noqa: E731
    peers["server"] = Peer(env, sender("server", "client"), echo, False, 1.0)
    return peers["client"], peers["server"], log


def test_first_data_waits_for_a_handshake_and_an_echo_leaves_the_clients_passive_keepalive() -> None:
    """The client sends data, the server echoes it at once: the server has answered, so only the
    client (which received data and sent nothing after) sends a keepalive, 10 s later; then silence."""
    env = simpy.Environment()
    client, _, log = pair(env)
    client.send(b"ping")
    env.run(until=100)
    assert log == [(0, "client", "handshake initiation"), (0, "server", "handshake response"),
                   (0, "client", "data"), (0, "server", "data"), (10, "client", "keepalive")]


def test_unanswered_data_brings_the_peers_passive_keepalive_which_stops_the_new_handshake() -> None:
    """Data the server does not answer: the server's passive keepalive comes 10 s later, and reaching
    the client it cancels the client's new handshake (due 15 s after its data)."""
    env = simpy.Environment()
    client, server, log = pair(env)
    server.deliver = lambda inner: None
    client.send(b"request")
    env.run(until=100)
    assert log[-1] == (10, "server", "keepalive") and len(log) == 4


def test_data_into_a_silent_peer_brings_a_new_handshake_every_five_seconds() -> None:
    env = simpy.Environment()
    sent: list[tuple[float, str]] = []
    client = Peer(env, lambda m, i, what: sent.append((env.now, what)), lambda i: None, True, 1.0)
    client.session = True
    client.send(b"into the void")
    env.run(until=26)
    assert sent == [(0, "data"), (15, "handshake initiation"), (20, "handshake initiation"),
                    (25, "handshake initiation")]


def test_a_persistent_keepalive_follows_the_last_packet_either_way_and_timers_scale_with_the_lab() -> None:
    env = simpy.Environment()
    sent: list[tuple[float, str]] = []
    client = Peer(env, lambda m, i, what: sent.append((env.now, what)), lambda i: None, True, 10.0,
                  persistent=25.0)
    client.session = True
    client.receive(KEEPALIVE, b"")           # t=0: the last packet in the tunnel
    env.run(until=60)
    assert sent == [(25, "keepalive"), (50, "keepalive")]
    passive = Peer(env, lambda m, i, what: sent.append((env.now, what)), lambda i: None, False, 10.0)
    passive.receive(DATA, b"x")              # at lab scale 10 the passive keepalive is 100 s real-world
    env.run(until=200)
    assert (160.0, "keepalive") in sent


def test_a_stopped_peer_sends_nothing_more() -> None:
    env = simpy.Environment()
    sent: list[str] = []
    client = Peer(env, lambda m, i, what: sent.append(what), lambda i: None, True, 1.0, persistent=5.0)
    client.session = True
    client.receive(RESPONSE, b"")
    client.stop()
    client.receive(INITIATION, b"")
    env.run(until=100)
    assert sent == ["keepalive"]


def wireguard_world(*probes: Probe, timer: float = 30.0):  # type: ignore[no-untyped-def]
    """The ISP path at scale 1 with a CGN whose UDP timers are both ``timer`` s (as in
    tests/netns/test_wireguard_lab.py and the shipped wireguard-cgn-udp-30s)."""
    cgn = device("cgn", udp_timeout=timer, udp_stream_timeout=timer)
    world, models = build(Scenario("wg", {"cpe": CpeBridge(), "cgn": cgn}, probes, time_scale=TimeScale(1)))
    model = world.models["cgn"]
    assert isinstance(model, Stateful)
    assert model.table.timeouts[UDP] == {UDP_UNREPLIED: timer, UDP_STREAM: timer}
    return world, models


def run(world, models):  # type: ignore[no-untyped-def]
    for model in models:
        model.start()
    world.env.run()
    return {m.result().name: m.result() for m in models}


def test_a_tunnel_without_keepalive_lives_its_passive_keepalive_longer_than_the_nats_timer() -> None:
    """The server's passive keepalive 10 s after the request is the tunnel's last datagram: the
    answer dies once it comes 30 s after that (measured in the lab: 35, 39 s alive; 43, 47 s dead)."""
    world, models = wireguard_world(
        Probe("bare", "wireguard", options={"connections": 4, "first": 35.0, "step": 4.0}),
        Probe("kept", "wireguard", options={"connections": 2, "first": 45.0, "step": 15.0,
                                            "persistent_keepalive": 25.0}),
        Probe("plain", "udp-recv", options={"connections": 2, "first": 25.0, "step": 10.0}))
    results = run(world, models)
    alive, dead = Verdict.ALIVE, Verdict.DEAD
    assert [c.verdict for c in results["bare"].connections] == [alive, alive, dead, dead]
    assert [c.verdict for c in results["kept"].connections] == [alive, alive]
    assert [c.verdict for c in results["plain"].connections] == [alive, dead]
    assert "the server's keepalive at 10s, 33s before it" in results["bare"].connections[2].explanation
    assert "idle 33s ≥ cgn udp_stream timeout 30s" in results["bare"].connections[2].explanation
    assert "the client's keepalive at 35s" in results["kept"].connections[1].explanation
    assert results["bare"].connections[0].detail.startswith("tunnel 0: mapping 100.127.0.2:")
    assert results["kept"].connections[0].detail.startswith("tunnel 0: mapping 100.127.32.2:")  # slot 1


def test_idles_that_reach_wireguards_rekey_time_are_refused() -> None:
    with pytest.raises(ConfigError, match="rekey time, 120 s"):
        wireguard_world(Probe("long", "wireguard", options={"connections": 1, "first": 120.0}))


def test_the_summary_says_what_ran() -> None:
    from natsim.report.summary import format_summary
    from natsim.run.predict import predict

    result = predict(Scenario("wg", {"cpe": CpeBridge(), "cgn": device("cgn")},
                              (Probe("tunnel", "wireguard", options={"connections": 1, "first": 20.0}),),
                              time_scale=TimeScale(1)))
    assert "tunnel ran the WireGuard model (wireguard-go's timers)" in format_summary(result).splitlines()
