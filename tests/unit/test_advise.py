"""``natsim advise``: the binding middlebox and the largest safe keepalive for three device presets, the
exact configuration line per application, the model's check of the advice, and bad input."""

from __future__ import annotations

import dataclasses

import pytest

from natsim.cli import main
from natsim.errors import ConfigError
from natsim.middleboxes.nat.behaviour import Refresh
from natsim.report.schema import Verdict
from natsim.run.advise import advise, check_scenario, checked, largest_safe
from natsim.run.predict import predict
from natsim.scenario import load_scenario
from natsim.sim.timers import wheel_late
from natsim.units import TimeScale


@pytest.mark.parametrize(("name", "binding", "timeout", "openssh", "kernel"), [
    ("aws-nlb-350s", "lb", 350.0, 349, 333),          # preset aws-nlb
    ("k8s-ipvs-900s", "lb", 900.0, 899, 883),         # preset ipvs-kube-proxy
    ("gcp-firewall-10min", "fw", 600.0, 599, 583),    # preset gcp-vpc-firewall
    ("isp-modem-bridge-1h", "cpe", 3600.0, 3599, 3468),   # cpe 1 h binds, not the CGN's 4 h
])
def test_the_binding_middlebox_and_the_largest_safe_keepalive(name: str, binding: str, timeout: float,
                                                              openssh: int, kernel: int) -> None:
    scenario = load_scenario(name)
    ssh = advise(scenario, "openssh")
    assert (ssh.binding, ssh.timeout, ssh.value, ssh.line) == (binding, timeout, openssh,
                                                               f"ServerAliveInterval {openssh}")
    linux = advise(scenario, "linux-keepalive")
    assert (linux.value, linux.line) == (kernel, f"net.ipv4.tcp_keepalive_time = {kernel}")
    late = TimeScale(1.0)   # the kernel's timer may fire 1/8 late: the value is the largest that still fits
    fires = [value + wheel_late(late, value) for value in (linux.value, linux.value + 1)]
    assert fires[0] < timeout <= fires[1]
    assert checked(predict(check_scenario(scenario, linux))) == []


def test_each_application_gets_its_own_line() -> None:
    scenario = load_scenario("aws-nlb-350s")
    assert advise(scenario, "grpc").line == "GRPC_ARG_KEEPALIVE_TIME_MS = 349000"
    assert advise(scenario, "redis").line == "tcp-keepalive 333"
    assert advise(scenario, "postgres").line == "keepalives_idle=333"


def test_the_model_check_fails_a_wrong_advice() -> None:
    scenario = load_scenario("aws-nlb-350s")
    wrong = dataclasses.replace(advise(scenario, "openssh"), value=400)
    check = check_scenario(scenario, wrong)
    assert [p.options.first for p in check.probes] == [400.0, 400.0]   # whole lab seconds (x50)
    assert checked(predict(check)) == [f"the advised keepalive was not answered: {[Verdict.RESET]}"]


def test_largest_safe_and_bad_input() -> None:
    assert largest_safe(2.0, kernel_timer=False) == 1
    with pytest.raises(ConfigError, match="no keepalive of a whole second"):
        largest_safe(1.0, kernel_timer=False)
    scenario = load_scenario("aws-nlb-350s")
    with pytest.raises(ConfigError, match="UDP"):   # no middlebox on an ssh proxy's path tracks UDP
        advise(load_scenario("pan-ssh-proxy-go-backend"), "wireguard")
    with pytest.raises(ConfigError, match="did you mean 'openssh'"):
        advise(scenario, "opensh")


def test_the_command_prints_the_line_and_the_binding_middlebox(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["advise", "k8s-ipvs-900s", "--app", "openssh"]) == 0
    out = capsys.readouterr().out
    assert "binding: lb at 15m" in out and "openssh: ServerAliveInterval 899" in out
    assert "checked at 13m45s: 899 s floored to whole lab seconds at time scale 75" in out
    assert "a keepalive after 13m45s is answered, one after 16m15s (past lb's timeout) fails" in out
    assert main(["advise", "k8s-ipvs-900s", "--app", "wireguard"]) == 2


@pytest.mark.parametrize(("name", "binding", "limits"), [
    ("wireguard-cgn-udp-30s", "cpe, cgn", (("cpe", 30.0), ("cgn", 30.0))),   # the bridge's Linux 30 s too
    ("cloud-nat-udp", "router", (("router", 30.0),)),
])
def test_wireguard_gets_the_largest_persistent_keepalive_below_the_udp_timers(
        name: str, binding: str, limits: tuple[tuple[str, float], ...]) -> None:
    scenario = load_scenario(name)
    advice = advise(scenario, "wireguard")
    assert (advice.binding, advice.limits, advice.timeout, advice.value, advice.line) == \
        (binding, limits, 30.0, 29, "PersistentKeepalive = 29")
    check = check_scenario(scenario, advice)
    assert [p.kind for p in check.probes] == ["wireguard", "wireguard"]
    assert checked(predict(check)) == []
    wrong = check_scenario(scenario, dataclasses.replace(advice, value=33))   # past the 30 s timer
    assert checked(predict(wrong)) == ["the advised keepalive was not answered: [<Verdict.DEAD: 'dead'>]"]


def test_wireguard_counts_the_unreplied_timer_and_refuses_an_inbound_only_refresh() -> None:
    scenario = load_scenario("wireguard-cgn-udp-30s")
    long_stream = {**scenario.middleboxes, "cgn": dataclasses.replace(
        scenario.middleboxes["cgn"], udp_timeout=60.0, udp_stream_timeout=300.0)}
    assert advise(dataclasses.replace(scenario, middleboxes=long_stream), "wireguard").limits == \
        (("cpe", 30.0), ("cgn", 60.0))
    inbound = {**scenario.middleboxes, "cgn": dataclasses.replace(scenario.middleboxes["cgn"],
                                                                  refresh=Refresh.INBOUND)}
    with pytest.raises(ConfigError, match="cgn refreshes a mapping on inbound packets only"):
        advise(dataclasses.replace(scenario, middleboxes=inbound), "wireguard")


def test_the_command_prints_the_wireguard_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["advise", "wireguard-cgn-udp-30s", "--app", "wireguard"]) == 0
    out = capsys.readouterr().out
    assert "binding: cpe, cgn at 30s" in out and "wireguard: PersistentKeepalive = 29" in out
    assert "[Peer] section" in out and "comes through a tunnel with PersistentKeepalive 29s" in out
