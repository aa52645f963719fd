"""predict(): the incident's expectations, explanations, flavours, determinism and bad input."""

from __future__ import annotations

import pytest

from natsim.errors import ConfigError
from natsim.middleboxes.conntrack.policy import Untracked
from natsim.middleboxes.cpe_bridge import CpeBridge
from natsim.middleboxes.presets import device
from natsim.report.schema import RunResult, Verdict
from natsim.run.predict import predict, predict_traced
from natsim.sim import explain
from natsim.sim.trace import Expired, PacketEvent, PickedUp, Reason, Unknown
from natsim.sim.world import World
from natsim.units import TimeScale
from tests.unit.sim_scenarios import Probe, Scenario, incident_cpe, isp, ladder

LONG_CGN = device("cgn", idle_timeout=4 * 3600.0)


def verdicts(result: RunResult, probe: str) -> list[Verdict]:
    return [c.verdict for c in result.probe(probe).connections]


def happened(world: World, conn: str) -> list[tuple[str, str, str, str, object]]:
    """(node, event, packet, direction, reason or expiry) of what happened to ``conn``, routine left out."""
    out: list[tuple[str, str, str, str, object]] = []
    for e in world.trace.of(conn):
        if e.routine or not isinstance(e, PacketEvent):
            continue
        extra: object = getattr(e, "reason", None)
        if isinstance(e, Expired):
            extra = (e.state, e.idle, e.timeout)
        out.append((e.node, type(e).__name__, e.segment.what(), e.direction, extra))
    return out


def test_incident_send_dies_from_60_min_recv_survives_keepalive_dies() -> None:
    result, world = predict_traced(isp(cgn=LONG_CGN))
    assert result.source == "model"
    assert verdicts(result, "send") == [Verdict.ALIVE] * 59 + [Verdict.DEAD] * 71
    assert verdicts(result, "recv") == [Verdict.ALIVE] * 130
    assert verdicts(result, "keepalive") == [Verdict.ALIVE] * 59 + [Verdict.DEAD] * 71
    send = result.probe("send").connections
    assert [c.idle for c in send[:3]] == [60.0, 120.0, 180.0]
    # idle 1h ≥ cpe established timeout 1h; outbound data segment dropped as untracked
    assert happened(world, "send#59")[:2] == [
        ("cpe", "Expired", "data segment", "outbound", ("established", 3600.0, 3600.0)),
        ("cpe", "Dropped", "data segment", "outbound", Reason.UNTRACKED)]
    assert send[59].explanation.startswith("connection 59: " + explain.summarise(world.trace.of("send#59")))
    # nothing happened to connection 58: idle 3540 s, below both established timeouts; the echo came back
    assert happened(world, "send#58") == []
    assert world.limits(world.route("client", "server")) == [("cpe", 3600.0), ("cgn", 14400.0)]
    assert (send[58].verdict, send[58].idle) == (Verdict.ALIVE, 3540.0)
    assert send[58].explanation.endswith("; the echo came back")
    # the server's reply after 60 min is picked up by the cpe (the incident's recv-test survives)
    recv59 = happened(world, "recv#59")
    assert ("cpe", "PickedUp", "data segment", "inbound", None) in recv59
    assert result.probe("keepalive").connections[59].how == "keepalive"
    assert result.probe("send").estimate is not None
    assert result.probe("send").estimate.describe() == "idle timeout between 59m and 1h"


def test_rfc_cgn_kills_recv_beyond_2h4m_in_the_incident_topology() -> None:
    result, world = predict_traced(isp())
    recv = result.probe("recv").connections
    assert [c.verdict for c in recv] == [Verdict.ALIVE] * 123 + [Verdict.DEAD] * 7
    assert recv[123].idle == 7440.0
    # idle 2h4m ≥ cgn established timeout 2h4m; inbound data segment dropped as untracked
    assert happened(world, "recv#123")[:2] == [
        ("cgn", "Expired", "data segment", "inbound", ("established", 7440.0, 7440.0)),
        ("cgn", "Dropped", "data segment", "inbound", Reason.UNTRACKED)]


def test_drop_both_ways_recv_fails_from_60_min() -> None:
    result, world = predict_traced(isp(cpe=incident_cpe(inbound=Untracked.DROP), cgn=LONG_CGN))
    assert verdicts(result, "recv") == [Verdict.ALIVE] * 59 + [Verdict.DEAD] * 71
    dead = result.probe("recv").connections[59]
    assert dead.how == "read"
    # natsim's probe calls silence dead 10 lab seconds (600 s at time scale 60) after the deadline
    assert dead.elapsed == pytest.approx(3600 + 10 * 60)
    assert happened(world, "recv#59")[:2] == [
        ("cpe", "Expired", "data segment", "inbound", ("established", 3600.0, 3600.0)),
        ("cpe", "Dropped", "data segment", "inbound", Reason.UNTRACKED)]


def test_cgn_pickup_out_drop_in_fails_only_recv() -> None:
    cgn = device("cgn", idle_timeout=3600.0, untracked_outbound=Untracked.PICKUP,
                 untracked_inbound=Untracked.DROP)
    scenario = Scenario("cgn", {"cgn": cgn}, ladder(), chain=("client", "cgn", "server"),
                        time_scale=TimeScale(1))
    result, world = predict_traced(scenario)
    assert verdicts(result, "send") == [Verdict.ALIVE] * 130
    assert verdicts(result, "keepalive") == [Verdict.ALIVE] * 130
    assert verdicts(result, "recv") == [Verdict.ALIVE] * 59 + [Verdict.DEAD] * 71
    # the outbound byte after 60 min is picked up and re-mapped to the same address and port
    picked = [e for e in world.trace.of("send#59") if isinstance(e, PickedUp)]
    assert len(picked) == 1 and picked[0].public == ("192.0.2.1", picked[0].segment.src[1])
    assert isinstance(world.trace.of("send#59")[-len(picked) - 1], Expired | Unknown)


def test_rfc_compliant_middleboxes_keep_every_idle_below_2h4m() -> None:
    result = predict(isp(cpe=CpeBridge(idle_timeout=7440.0), cgn=device("cgn"), connections=124))
    for probe in ("send", "recv", "keepalive"):
        assert verdicts(result, probe) == [Verdict.ALIVE] * 123 + [Verdict.DEAD], probe


def test_send_and_recv_default_to_a_two_minute_user_timeout() -> None:
    # the lab's tools and the model read the same declared default (120 s real-world, scaled exactly)
    dead = predict(isp(cgn=LONG_CGN)).probe("send").connections[59]
    assert (dead.verdict, dead.elapsed) == (Verdict.DEAD, pytest.approx(3600.0 + 120.0))
    kernel = predict(isp(cgn=LONG_CGN, user_timeout=0.0)).probe("send").connections[59]
    assert kernel.elapsed == pytest.approx(3600.0 + 924.6 * 60)   # tcp_retries2 at lab speed


def test_user_timeout_shortens_the_dead_verdict() -> None:
    result = predict(isp(cgn=LONG_CGN, user_timeout=30.0))
    dead = result.probe("send").connections[59]
    assert dead.verdict is Verdict.DEAD
    assert dead.elapsed == pytest.approx(3630.0)


def test_original_flavour_drifts_after_a_dead_connection() -> None:
    scenario = isp(cgn=LONG_CGN, flavour="original", user_timeout=0.0)   # the tools set no user timeout
    result = predict(scenario)
    send = result.probe("send").connections
    assert [c.idle for c in send[57:60]] == [3480.0, 3540.0, 3600.0]
    # connection 59 blocks in read() until ETIMEDOUT (924.6 lab s = 55476 s), then sleep(60)
    assert send[60].idle == pytest.approx(3660.0 + 924.6 * 60)
    assert send[60].verdict is Verdict.DEAD


def test_keepalive_close_to_the_timeout_is_flagged_uncertain() -> None:
    # 59 lab seconds of keepalive idle sit in a timer-wheel level of 2.048 lab s granularity
    keepalive = predict(isp(cgn=LONG_CGN)).probe("keepalive")
    assert keepalive.extra["uncertain"] == [57, 58]     # 58 + 2.048 and 59 + 2.048 lab s > 60
    assert keepalive.connections[58].verdict is Verdict.ALIVE
    assert keepalive.connections[58].explanation.endswith("; " + explain.late_timer(122.88, "cpe", 3600.0))


def test_first_defaults_to_step() -> None:
    result = predict(isp(cgn=LONG_CGN, step=120.0, connections=3))
    assert [c.idle for c in result.probe("send").connections] == [120.0, 240.0, 360.0]


def test_keepalive_alive_is_decided_when_the_probe_is_answered() -> None:
    keepalive = predict(isp(cgn=LONG_CGN, connections=3)).probe("keepalive").connections
    assert [(c.verdict, c.elapsed) for c in keepalive] == [
        (Verdict.ALIVE, 60.0), (Verdict.ALIVE, 120.0), (Verdict.ALIVE, 180.0)]


def test_original_recv_blocks_forever_on_a_lost_reply() -> None:
    scenario = isp(cpe=incident_cpe(inbound=Untracked.DROP), cgn=LONG_CGN, flavour="original")
    recv = predict(scenario).probe("recv")
    assert recv.complete is False
    assert [c.verdict for c in recv.connections[58:61]] == [Verdict.ALIVE, Verdict.DEAD, Verdict.SKIPPED]


def test_deterministic_and_seeded() -> None:
    first = predict(isp(cgn=LONG_CGN)).to_dict()
    second = predict(isp(cgn=LONG_CGN)).to_dict()
    for run in (first, second):
        run.pop("started"), run.pop("finished")
    assert first == second


def test_real_network_mode_uses_kernel_timers_unscaled() -> None:
    result = predict(isp(cgn=LONG_CGN, user_timeout=0.0), as_lab=False)
    assert result.probe("send").connections[59].elapsed == pytest.approx(3600 + 924.6)
    assert result.unscaled == []


def test_user_commands_are_skipped_with_a_note() -> None:
    scenario = Scenario("x", {"cpe": incident_cpe()}, (Probe("mine", "command"),
                                                       Probe("send", "tcp-send", options={"connections": 1})))
    result = predict(scenario)
    assert [p.name for p in result.probes] == ["send"]
    assert any(n.startswith("probe mine (command) is not modelled") for n in result.notes)


def test_bad_input() -> None:
    with pytest.raises(ConfigError, match="seed must be a whole number"):
        predict(isp(), seed="1")  # type: ignore[arg-type]
    bad = Scenario("x", {"cpe": incident_cpe()}, (Probe("p", "tcp-snd"),))
    with pytest.raises(ConfigError, match="did you mean 'tcp-send'"):
        predict(bad)
    bad = Scenario("x", {"cpe": incident_cpe()}, (Probe("p", "tcp-send", options={"step": -1.0}),))
    with pytest.raises(ConfigError, match=r"p\.step: duration must be positive"):
        predict(bad)
    bad = Scenario("x", {"cpe": incident_cpe()}, (Probe("p", "tcp-send", options={"flavour": "x"}),))
    with pytest.raises(ConfigError, match="flavour"):
        predict(bad)
