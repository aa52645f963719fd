"""UDP in the model: conntrack's two UDP timers and its 2 s rule, a NAT's UDP mappings and its own ICMP,
ICMP errors following their flow back, a host without a socket, and the UDP probes' exact verdicts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from natsim.middleboxes.conntrack.model import Stateful
from natsim.middleboxes.cpe_bridge import CpeBridge
from natsim.middleboxes.nat.model import Nat
from natsim.middleboxes.presets import device
from natsim.probes.udp.datagram import Op, request
from natsim.report.schema import Verdict
from natsim.run.predict import build, predict
from natsim.sim.cttable import UDP_STREAM, UDP_UNREPLIED
from natsim.sim.network import Answer, Drop, Forward
from natsim.sim.segment import ICMP, UDP, Segment, unreachable
from natsim.sim.trace import Aborted, Expired, Mapped, PickedUp, Reason, Unreachable
from natsim.units import TimeScale
from tests.unit.sim_scenarios import Probe, Scenario

A, SERVER, PUBLIC = ("100.64.1.10", 40000), ("203.0.113.10", 16180), ("192.0.2.1", 40000)
SCALE = TimeScale(10)
#: Linux's default UDP timers at lab speed: 30 s and 120 s of the lab are 300 s and 1200 s at scale 10.
LAB_SPEED = {"udp_timeout": 300.0, "udp_stream_timeout": 1200.0}


def datagram(src: tuple[str, int], dst: tuple[str, int], conn: str = "f") -> Segment:
    return Segment(src, dst, "", conn, protocol=UDP, payload=b"x")


def cgn() -> Nat:
    config = device("cgn", **LAB_SPEED)
    return Nat("cgn", config, SCALE, config.addressing("cgn"))


def test_a_flow_takes_the_stream_timer_only_after_a_reply_and_two_seconds_at_lab_speed() -> None:
    """Lab at scale 10: 30 s unreplied = 300 s, 120 s stream = 1200 s, the 2 s rule = 20 s."""
    bridge = Stateful("cpe", CpeBridge(**LAB_SPEED), SCALE)
    assert bridge.udp_timeouts == (300.0, 1200.0) and bridge.stream_after == 20.0
    out, back = datagram(A, SERVER), datagram(SERVER, A)
    assert bridge.handle(out, True, 0.0) == Forward(out)
    entry = bridge.table.lookup((A, SERVER), 0.0)[0]
    assert entry is not None and (entry.state, entry.timeout) == (UDP_UNREPLIED, 300.0)
    bridge.handle(back, False, 1.0)          # the reply itself is refreshed as unreplied
    assert (entry.state, entry.seen_reply) == (UDP_UNREPLIED, True)
    bridge.handle(out, True, 20.0)           # not after the 2 s (20 s) yet
    assert entry.state == UDP_UNREPLIED
    bridge.handle(out, True, 20.5)
    assert (entry.state, entry.timeout) == (UDP_STREAM, 1200.0)


def test_an_unreplied_flow_never_takes_the_stream_timer() -> None:
    bridge = Stateful("cpe", CpeBridge(**LAB_SPEED), SCALE)
    for t in (0.0, 100.0, 250.0):
        bridge.handle(datagram(A, SERVER), True, t)
    entry = bridge.table.lookup((A, SERVER), 250.0)[0]
    assert entry is not None and entry.state == UDP_UNREPLIED


def test_a_nat_maps_udp_and_an_expired_flow_is_mapped_again_on_the_same_port() -> None:
    nat = cgn()
    first = nat.handle(datagram(A, SERVER), True, 0.0)
    assert isinstance(first, Forward) and first.segment.src == PUBLIC
    assert [type(e) for e in first.events] == [Mapped]
    back = nat.handle(datagram(SERVER, PUBLIC), False, 1.0)
    assert isinstance(back, Forward) and back.segment.dst == A
    again = nat.handle(datagram(A, SERVER), True, 301.0)     # idle 300 s ≥ the unreplied 300 s
    assert isinstance(again, Forward) and again.segment.src == PUBLIC
    assert [type(e) for e in again.events] == [Expired, PickedUp]
    expired = again.events[0]
    assert isinstance(expired, Expired) and (expired.state, expired.timeout) == (UDP_UNREPLIED, 300.0)


def test_an_inbound_datagram_without_mapping_is_refused_before_conntrack_keeps_its_tuple() -> None:
    """The NAT's input chain answers a datagram to its public port with ICMP port unreachable (as its
    stack would) before conntrack confirms the datagram's entry, so no entry holds that tuple and the
    flow's next outbound datagram keeps its port. (Without that rule Linux's stack answered and its
    entry held the tuple: the CGN re-mapped WireGuard's 51821 to a random port; tests/nat_matrix.py
    ``u2``/``m4`` checks the rule in the lab.)"""
    nat = cgn()
    nat.handle(datagram(A, SERVER), True, 0.0)
    late = datagram(SERVER, PUBLIC)
    refused = nat.handle(late, False, 400.0)
    assert isinstance(refused, Answer)
    assert refused.segment == unreachable(late)
    assert refused.segment.protocol == ICMP and refused.segment.about == (SERVER, PUBLIC)
    assert [(type(e), getattr(e, "reason", None)) for e in refused.events] == [
        (Expired, None), (Unreachable, Reason.NO_MAPPING)]
    again = nat.handle(late, False, 401.0)                    # the NAT's stack still has no socket
    assert isinstance(again, Answer)
    outbound = nat.handle(datagram(A, SERVER), True, 402.0)
    assert isinstance(outbound, Forward) and outbound.segment.src[0] == PUBLIC[0]
    assert outbound.segment.src[1] == PUBLIC[1]


def test_icmp_errors_follow_their_flow_back_translated_and_unknown_ones_are_dropped() -> None:
    nat = cgn()
    nat.handle(datagram(A, SERVER), True, 0.0)
    error = unreachable(datagram(PUBLIC, SERVER))             # from the server's stack
    back = nat.handle(error, False, 1.0)
    assert isinstance(back, Forward)
    assert (back.segment.dst, back.segment.about) == (A, (A, SERVER))
    stray = unreachable(datagram(("192.0.2.1", 9), SERVER))
    assert isinstance(nat.handle(stray, False, 1.0), Drop)


def udp_probe(kind: str, **options: object) -> Probe:
    return Probe(kind, kind, options=dict(options))


def scenario(*probes: Probe, **middleboxes: object) -> Scenario:
    return Scenario("udp", dict(middleboxes), probes, time_scale=SCALE)


def verdicts(result_probe: object) -> list[tuple[float, Verdict]]:
    return [(c.idle, c.verdict) for c in result_probe.connections]  # type: ignore[attr-defined]


def test_udp_probes_predict_the_kernels_default_timers_at_lab_speed() -> None:
    """The timers set to Linux's defaults at lab speed (300 s and 1200 s at scale 10)."""
    """The lab measured exactly this (tests/netns/test_udp_probes_lab.py)."""
    result = predict(scenario(udp_probe("udp-recv", connections=4, first=280.0, step=10.0),
                              udp_probe("udp-send", connections=3, first=290.0, step=10.0),
                              replace(udp_probe("udp-keepalive", connections=1, first=400.0, interval=200.0),
                                      name="short"),
                              replace(udp_probe("udp-keepalive", connections=1, first=400.0, interval=1300.0),
                                      name="long"),
                              cpe=CpeBridge(**LAB_SPEED), cgn=device("cgn", **LAB_SPEED)))
    alive, dead = Verdict.ALIVE, Verdict.DEAD
    recv = result.probe("udp-recv")
    assert verdicts(recv) == [(280.0, alive), (290.0, alive), (300.0, dead), (310.0, dead)]
    assert recv.connections[2].explanation == (
        "connection 2: idle 5m ≥ cgn udp_unreplied timeout 5m; inbound UDP datagram has no mapping "
        "and reaches cgn's own stack, which answers ICMP port unreachable; no answer came back")
    assert recv.connections[2].elapsed == pytest.approx(300.0 + 100.0)       # the 10 s grace, at scale 10
    assert recv.estimate is not None and (recv.estimate.lower, recv.estimate.upper) == (290.0, 300.0)
    send = result.probe("udp-send")
    assert {v for _, v in verdicts(send)} == {alive}
    assert send.connections[2].detail == "mapping 192.0.2.1:40006"
    assert "re-mapped to the same port" in send.connections[2].explanation
    assert verdicts(result.probe("short")) == [(400.0, alive)]
    assert verdicts(result.probe("long")) == [(400.0, dead)]
    assert any("UDP flow takes its stream timeout" in note for note in result.unscaled)


def test_a_host_without_a_socket_answers_icmp_and_a_connected_socket_reports_econnrefused() -> None:
    """The ICMP crosses the NAT back to the client's connected socket: its next call is ECONNREFUSED."""
    world, _ = build(scenario(cpe=CpeBridge(), cgn=device("cgn")))
    sock = world.udp_socket("client", "server", 9999, "lonely")
    sock.send(request(Op.ECHO, 1, 1))
    world.env.run()
    events = world.events("lonely")
    assert any(isinstance(e, Unreachable) and e.reason is Reason.NO_SOCKET and e.node == "server"
               for e in events)
    aborted = [e for e in events if isinstance(e, Aborted)]
    assert len(aborted) == 1 and aborted[0].node == "client" and aborted[0].peer == "203.0.113.10"
    failed = sock.recv()
    assert failed.triggered and not failed.ok
    assert failed.value.name == "ECONNREFUSED"
