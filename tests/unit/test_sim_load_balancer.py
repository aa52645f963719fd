"""The load balancer's model: backends in turn, translation both ways, and each expiry behaviour, as
typed events and verdicts (exact: the model is deterministic)."""

from __future__ import annotations

import errno

from natsim.middleboxes import build_config, build_model
from natsim.middleboxes.load_balancer.model import Balancer
from natsim.run.predict import predict_traced
from natsim.scenario import load_scenario_text
from natsim.sim import trace as ev
from natsim.sim.network import Answer, Drop, Forward, Segment
from natsim.units import TimeScale

VIP = ("198.51.100.1", 80)
CLIENT = ("198.51.100.10", 40000)


def balancer(**settings: str) -> Balancer:
    model = build_model("lb", build_config("load-balancer", {"idle_timeout": "350s", **settings}),
                        TimeScale(1), 0)
    assert isinstance(model, Balancer)
    model.place(VIP[0])
    return model


def test_new_connections_go_to_the_backends_in_turn_and_replies_come_from_the_vip() -> None:
    lb = balancer()
    sent = []
    for port in range(3):
        action = lb.handle(Segment((CLIENT[0], 40000 + port), VIP, "S", f"c{port}"), True, 0.0)
        assert isinstance(action, Forward)
        sent.append(action.segment.dst)
        assert action.events == (ev.Balanced.at(0.0, "lb", Segment((CLIENT[0], 40000 + port), VIP, "S",
                                                                     f"c{port}"), True,
                                                backend=action.segment.dst),)
    assert sent == [("203.0.113.10", 80), ("203.0.113.130", 80), ("203.0.113.10", 80)]
    reply = lb.handle(Segment(("203.0.113.10", 80), CLIENT, "SA", "c0"), False, 0.1)
    assert isinstance(reply, Forward) and reply.segment.src == VIP


def test_a_port_it_does_not_listen_on_meets_its_own_stack() -> None:
    lb = balancer(ports="443")
    syn = Segment(CLIENT, VIP, "S", "c0")
    action = lb.handle(syn, True, 0.0)
    assert isinstance(action, Answer) and action.segment == Segment(VIP, CLIENT, "R", "c0")
    assert action.events == (ev.Reset.at(0.0, "lb", syn, True, reason=ev.Reason.NO_MAPPING),)
    routed = lb.handle(Segment(CLIENT, ("203.0.113.10", 22), "S", "c1"), True, 0.0)
    assert isinstance(routed, Forward) and routed.segment.dst == ("203.0.113.10", 22)   # not to the VIP


def _open(lb: Balancer) -> None:
    lb.handle(Segment(CLIENT, VIP, "S", "c0"), True, 0.0)
    lb.handle(Segment(("203.0.113.10", 80), CLIENT, "SA", "c0"), False, 0.0)
    lb.handle(Segment(CLIENT, VIP, "A", "c0"), True, 0.0)


def test_expired_flows_meet_silence_or_rst_from_either_side() -> None:
    data = Segment(CLIENT, VIP, "PA", "c0", seq=1, data="x")
    late = Segment(("203.0.113.10", 80), CLIENT, "PA", "c0", seq=1, data="y")
    silent, next_packet = balancer(expired="silent"), balancer(expired="reset-next-packet")
    for lb in (silent, next_packet):
        _open(lb)
    assert isinstance(silent.handle(data, True, 350.0), Drop)
    action = next_packet.handle(data, True, 350.0)
    assert isinstance(action, Answer) and action.segment == Segment(VIP, CLIENT, "R", "c0")
    _open(next_packet)
    action = next_packet.handle(late, False, 400.0)
    assert isinstance(action, Answer) and action.segment == Segment(CLIENT, ("203.0.113.10", 80), "R", "c0")


def test_reset_both_at_expiry_rsts_both_ends_at_the_timeout_and_spares_refreshed_flows() -> None:
    lb = balancer(expired="reset-both-at-expiry")
    alarms: list[float] = []
    lb.attach(alarms.append)
    _open(lb)
    assert alarms == [0.0 + 120.0]          # syn_sent's timeout when the entry was made
    assert lb.act(120.0) == []              # refreshed since: looked at again at its new deadline
    assert alarms[-1] == 350.0
    lb.handle(Segment(CLIENT, VIP, "PA", "c0", seq=1, data="x"), True, 100.0)
    assert lb.act(350.0) == [] and alarms[-1] == 450.0
    to_client, to_backend = lb.act(450.0)
    assert (to_client.segment, to_client.outbound) == (Segment(VIP, CLIENT, "R", "c0"), False)
    assert (to_backend.segment, to_backend.outbound) == (Segment(CLIENT, ("203.0.113.10", 80), "R", "c0"),
                                                         True)
    assert [type(e).__name__ for e in to_client.events] == ["Expired", "ResetAtExpiry"]
    assert lb.handle(Segment(CLIENT, VIP, "PA", "c0", seq=2, data="z"), True, 451.0).events[-1].reason \
        is ev.Reason.UNTRACKED   # a later packet is dropped
    assert len(lb.table) == 0 and lb.watched == []


SCENARIO = """\
topology: dc-load-balancer
time_scale: 10
middleboxes:
  lb: {{idle_timeout: 350s, expired: {expired}}}
probes:
  - name: send
    kind: tcp-send
    client: client
    server: lb
    options: {{connections: 3, first: 340s, step: 10s}}
  - name: recv
    kind: tcp-recv
    client: client
    server: lb
    options: {{connections: 2, first: 340s, step: 20s}}
"""


def verdicts(expired: str) -> tuple[dict[str, list[tuple[str, str, float]]], list[ev.Event]]:
    result, world = predict_traced(load_scenario_text(SCENARIO.format(expired=expired), model_only=True))
    found = {p.name: [(c.verdict.value, c.how, c.elapsed) for c in p.connections] for p in result.probes}
    return found, world.trace.events  # type: ignore[return-value]


def test_a_ladder_through_each_behaviour() -> None:
    silent, _ = verdicts("silent")
    assert silent == {"send": [("alive", "", 340.0), ("dead", "read", 470.0), ("dead", "read", 480.0)],
                      "recv": [("alive", "", 340.0), ("dead", "read", 460.0)]}
    next_packet, _ = verdicts("reset-next-packet")
    assert next_packet == {"send": [("alive", "", 340.0), ("reset", "read", 350.0), ("reset", "read", 360.0)],
                           "recv": [("alive", "", 340.0), ("dead", "read", 460.0)]}
    at_expiry, events = verdicts("reset-both-at-expiry")
    assert at_expiry == {"send": [("alive", "", 340.0), ("reset", "read", 350.0), ("reset", "write", 360.0)],
                         "recv": [("alive", "", 340.0), ("reset", "read", 350.0)]}
    # both ends of every expired flow are reset at the timeout: the client by its probe's verdict, the
    # backend's socket (the server side is traced) at the same instant
    resets = [(e.time, e.conn) for e in events if isinstance(e, ev.ResetAtExpiry)]
    assert resets == [(350.0, "send#1"), (350.0, "send#2"), (350.0, "recv#1")]
    aborted = [(e.time, e.conn, e.errno, e.node) for e in events if isinstance(e, ev.Aborted)]
    assert aborted == [(350.0, c, errno.ECONNRESET, "lb's backend") for _, c in resets]
