"""The NAT behaviour record and the model of every combination, with what each one must do (no root).

The same script (:mod:`tests.nat_matrix`) runs in the lab in ``tests/netns/test_nat_matrix_lab.py``,
which checks that the kernel does exactly what the model does; here the model's answers are checked
against what each behaviour means (RFC 4787).
"""

from __future__ import annotations

from typing import Any

import pytest

from natsim.errors import ConfigError
from natsim.middleboxes import build_config, build_model
from natsim.middleboxes.nat.behaviour import Dependence, NatBehaviour, Refresh
from natsim.middleboxes.presets import configure
from natsim.sim import trace as ev
from natsim.sim.network import Answer, Drop, Forward
from natsim.sim.segment import ICMP, UDP, Segment
from natsim.units import TimeScale
from tests.nat_matrix import BEHAVIOUR, INSIDE, SERVERS, ModelWorld, refresh_script

SCALE = TimeScale(30)
DEP = {"ei": "endpoint-independent", "ad": "address-dependent", "apd": "address-and-port-dependent"}


def play(script: Any = BEHAVIOUR, **values: str) -> dict[str, str]:
    return ModelWorld(build_config("nat", values), SCALE).play(script)


def expected(mapping: str, filtering: str) -> dict[str, str]:
    """What each mapping x filtering pair does with the script (port preservation on).

    ``a6`` keeps port 6000 towards S2 when its mapping does not depend on S2's port, towards S3 when it
    depends on nothing; any other mapping gets a port of its own, named in order. ``b``'s port 5000 is
    a's: Linux's masquerade overloads it, natsim's tables give ``b`` another one.
    """
    let_in = {"S2": filtering != "apd", "S3": filtering == "ei"}
    keeps = {"S2": mapping != "apd", "S3": mapping == "ei"}
    names = iter(f"pub:r{n}" for n in range(1, 4))
    x2, x3 = ("pub:6000" if keeps[s] else next(names) for s in ("S2", "S3"))
    o1 = "pub:5000" if mapping == "ei" and filtering == "apd" else next(names)
    return {"m1": "to S1 from pub:5000",
            "f-port": "to a from S2" if let_in["S2"] else "icmp",
            "f-addr": "to a from S3" if let_in["S3"] else "icmp",
            "f-same": "to a from S1", "x1": "to S1 from pub:6000", "x2": f"to S2 from {x2}",
            "x3": f"to S3 from {x3}", "o1": f"to S4 from {o1}", "h1": "icmp", "h2": "no target",
            "u1": "icmp", "u2": "icmp", "m4": "to S4 from pub:7777"}


@pytest.mark.parametrize("mapping", DEP)
@pytest.mark.parametrize("filtering", DEP)
def test_every_mapping_and_filtering_pair(mapping: str, filtering: str) -> None:
    assert play(mapping=DEP[mapping], filtering=DEP[filtering]) == expected(mapping, filtering)


def test_hairpinning_delivers_from_the_senders_own_mapping() -> None:
    got = play(hairpinning="true")
    hairpinned = ("h1", "h2")
    got = play(hairpinning="true")
    assert (got["o1"], *(got[t] for t in hairpinned)) == (
        "to S4 from pub:r1", "to a from pub:r1", "to b from pub:5000")
    got = play(hairpinning="true", mapping=DEP["ad"])   # b's mapping towards a's public endpoint is new
    assert (got["o1"], *(got[t] for t in hairpinned)) == (
        "to S4 from pub:r2", "to a from pub:r3", "to b from pub:5000")


def test_silent_refusal_and_ports_without_preservation() -> None:
    silent = play(udp_refused="silent")
    assert {silent[t] for t in ("f-port", "f-addr", "h1", "u1", "u2")} == {"lost"}
    eim = play(port_preservation="false")
    assert [eim[t] for t in ("m1", "x1", "x2", "x3", "o1")] == [
        "to S1 from pub:r1", "to S1 from pub:r2", "to S2 from pub:r2", "to S3 from pub:r2",
        "to S4 from pub:r3"]
    symmetric = play(mapping=DEP["apd"], port_preservation="false")
    assert [symmetric[t] for t in ("x1", "x2", "x3")] == ["to S1 from pub:r2", "to S2 from pub:r3",
                                                         "to S3 from pub:r4"]


@pytest.mark.parametrize(("refresh", "delivered"), [("both", 5), ("outbound", 3), ("inbound", 0)])
def test_which_direction_refreshes(refresh: str, delivered: int) -> None:
    got = play(refresh_script(1.0), refresh=refresh, filtering=DEP["ad"], udp_stream_timeout="30s")
    probes = [got[t] for t in ("p1", "i1", "i2", "i3", "i4")]
    assert probes == ["to a from S1"] * delivered + ["icmp"] * (5 - delivered)


def test_a_refused_datagram_says_why_in_typed_events() -> None:
    nat = build_model("router", build_config("nat", {"filtering": DEP["ad"], "refresh": "outbound"}), SCALE)
    a, s1, s3 = INSIDE["a"], SERVERS["S1"], SERVERS["S3"]
    out = nat.handle(Segment(a, s1, "", "m", protocol=UDP), True, 0.0)
    assert isinstance(out, Forward) and [type(e) for e in out.events] == [ev.Mapped]
    public = out.segment.src
    other = nat.handle(Segment(s3, public, "", "f", protocol=UDP), False, 1.0)
    assert isinstance(other, Answer) and other.segment.protocol == ICMP
    assert [(type(e), getattr(e, "reason", None)) for e in other.events] == [
        (ev.Unknown, None), (ev.Unreachable, ev.Reason.FILTERED)]
    assert isinstance(nat.handle(Segment(s1, public, "", "m", protocol=UDP), False, 20.0), Forward)
    late = nat.handle(Segment(s1, public, "", "m", protocol=UDP), False, 35.0)  # the flow lives, not the map
    assert isinstance(late, Answer)
    cause, refused = late.events
    assert isinstance(cause, ev.Expired) and (cause.state, cause.idle, cause.timeout) == (
        "udp mapping", 35.0, 30.0)
    assert isinstance(refused, ev.Unreachable) and refused.reason is ev.Reason.NO_MAPPING
    to_inside = nat.handle(Segment(s1, a, "", "d", protocol=UDP), False, 2.0)
    assert isinstance(to_inside, Drop) and to_inside.events[-1].reason is ev.Reason.FILTERED  # type: ignore[attr-defined]


def test_a_syn_from_the_outside_to_an_inside_address_is_filtered() -> None:
    nat = build_model("router", configure("home-router", {}), SCALE)
    syn = nat.handle(Segment(SERVERS["S1"], INSIDE["a"], "S", "c"), False, 0.0)
    assert isinstance(syn, Drop)
    assert [(type(e), getattr(e, "reason", None)) for e in syn.events] == [
        (ev.Unknown, None), (ev.Dropped, ev.Reason.FILTERED)]


def test_linux_masquerade_is_the_default_and_other_behaviours_need_tables() -> None:
    assert NatBehaviour().plain() and NatBehaviour().classic() == "port-restricted cone"
    assert NatBehaviour(mapping=Dependence.APD, port_preservation=False).plain()
    assert not NatBehaviour(port_overloading=False).plain()
    assert not NatBehaviour(refresh=Refresh.OUTBOUND).plain()
    assert not NatBehaviour(port_preservation=False).plain()      # endpoint-independent, no preservation
    assert NatBehaviour(filtering=Dependence.EI).label == "EIM/EIF (full cone)"
    assert NatBehaviour(mapping=Dependence.AD).label == "ADM/APDF"


@pytest.mark.parametrize(("values", "message"), [
    ({"port_overloading": "true", "filtering": DEP["ei"]},
     "port_overloading: true is Linux's plain masquerade.*with filtering: endpoint-independent"),
    ({"port_overloading": "true", "port_preservation": "false"}, "with port_preservation: false"),
    ({"mapping": "endpoint-independant"}, r"not one of .* \(did you mean 'endpoint-independent'\?\)"),
    ({"refresh": "inbund"}, r"did you mean 'inbound'"),
    ({"udp_timeout": "0"}, "greater than zero"),
    ({"udp_stream_timeout": "-1s"}, "malformed duration"),
])
def test_what_natsim_cannot_render_is_refused(values: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_config("nat", values)


def test_every_value_of_every_behaviour_setting_has_its_line_in_the_docs() -> None:
    import dataclasses
    import enum

    from natsim.middleboxes.nat.behaviour import MEANINGS, values_table

    for f in dataclasses.fields(NatBehaviour):
        kind = f.metadata.get("enum")
        values = list(kind) if isinstance(kind, type) and issubclass(kind, enum.Enum) else [True, False]
        assert {(f.name, v) for v in values} <= set(MEANINGS), f.name
    row = ("| `filtering` | `endpoint-independent` | EIF: anyone may send to a mapping "
           "| full cone (with EIM) |")
    assert row in values_table()


UDP_SCENARIO = """name: udp-timers
topology: home-nat
time_scale: {scale}
middleboxes:
  router: {{{setting}: {value}}}
probes:
  - {{name: r, kind: udp-recv, options: {{connections: 1, first: 70s}}}}
"""


@pytest.mark.parametrize("setting", ["udp_timeout", "udp_stream_timeout"])
def test_udp_timers_are_scaled_to_whole_kernel_seconds_or_refused(setting: str) -> None:
    from natsim.errors import ScenarioError
    from natsim.scenario import load_scenario_text

    scenario = load_scenario_text(UDP_SCENARIO.format(scale=10, setting=setting, value="30s"), "u.yaml")
    policy = scenario.middleboxes["router"].policy()  # type: ignore[attr-defined]
    state = "unreplied" if setting == "udp_timeout" else "replied"
    assert policy.udp_timer(state, scenario.time_scale) == 3          # 30 s at scale 10: 3 kernel seconds
    # 30 s at scale 7 is 4.286 lab seconds: rounding to 4 s would move the timer by 6.7 % (the error
    # points at the time scale that makes it so)
    with pytest.raises((ConfigError, ScenarioError), match=rf"u.yaml:3:13: router.{setting}: 30s at "
                       r"time_scale 7 is 4.286 lab seconds; .* off by 6.7% \(limit 1%\)"):
        load_scenario_text(UDP_SCENARIO.format(scale=7, setting=setting, value="30s"), "u.yaml")
