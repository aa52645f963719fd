"""A host's own kernel TCP settings (``hosts:`` in a scenario, :mod:`natsim.endpoint`): scaled for the
lab like every timer, read by the model, sweepable, and refused at file:line:col when wrong."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from natsim.endpoint import DEFAULT, Endpoint
from natsim.errors import ConfigError, ScenarioError
from natsim.kernel_facts import TCP_RETRIES2_GIVE_UP, retransmission_give_up
from natsim.probes.tcp.driver import system_keepalive
from natsim.probes.tcp.options import TcpKeepaliveOptions, TcpSendOptions
from natsim.report.schema import RunResult
from natsim.run.predict import predict
from natsim.run.sweep_params import parse_param
from natsim.scenario import load_scenario, load_scenario_text
from natsim.units import TimeScale

SHORT = Path(__file__).parents[1] / "e2e" / "short"
HOSTS = """
topology: home-nat
time_scale: 60
middleboxes:
  router: {idle_timeout: 10m, untracked_outbound: drop, untracked_inbound: drop}
hosts:
  client: {HOST}
probes:
  - name: PROBE
"""


def scenario(host: str, probe: str) -> str:
    return HOSTS.replace("{HOST}", host).replace("PROBE", probe)


def verdicts(result: RunResult) -> dict[str, list[str]]:
    return {p.name: [c.verdict.value for c in p.connections] for p in result.probes}


def test_sysctls_are_scaled_and_counts_are_not() -> None:
    endpoint = Endpoint(tcp_keepalive_time=600.0, tcp_retries2=8)
    assert endpoint.sysctls("client", TimeScale(75)) == {
        "net.ipv4.tcp_keepalive_time": "8", "net.ipv4.tcp_keepalive_intvl": "1",
        "net.ipv4.tcp_keepalive_probes": "9", "net.ipv4.tcp_retries2": "8"}
    assert endpoint.give_up == retransmission_give_up(8) and DEFAULT.give_up == TCP_RETRIES2_GIVE_UP
    # a default the scale cannot hold is rounded and said so; a value the user set is refused
    (_, intvl) = DEFAULT.scaled("client", TimeScale(60))
    assert intvl.rounded and intvl.lab == 1
    with pytest.raises(ConfigError, match=r"client\.tcp_keepalive_time: 10m at time_scale 700"):
        Endpoint(tcp_keepalive_time=600.0).scaled("client", TimeScale(700))


def test_the_model_reads_the_hosts_keepalive_time() -> None:
    """The short lab scenario host-keepalive: TCPKeepAlive yes survives with the host's 5 min, not with
    Linux's 7200 s (fails when the model ignores ``hosts:``)."""
    loaded = load_scenario(SHORT / "host-keepalive.yaml")
    assert loaded.hosts["client"].tcp_keepalive_time == 300.0
    assert verdicts(predict(loaded)) == {"sessions": ["alive", "dead"]}
    assert verdicts(predict(dataclasses.replace(loaded, hosts={}))) == {"sessions": ["dead", "dead"]}


def test_keepalive_interval_and_count_come_from_the_host() -> None:
    probe = "keepalive\n    kind: tcp-keepalive\n    options: {connections: 1, first: 20m}"
    default = predict(load_scenario_text(scenario("{}", probe))).probes[0].connections[0]
    short = predict(load_scenario_text(scenario("{tcp_keepalive_intvl: 1m, tcp_keepalive_probes: 2}",
                                                probe))).probes[0].connections[0]
    assert (default.verdict.value, short.verdict.value) == ("dead", "dead")
    assert default.elapsed is not None and short.elapsed is not None
    assert (default.elapsed - 1200, short.elapsed - 1200) == (pytest.approx(9 * 60), pytest.approx(2 * 60))


def test_tcp_retries2_is_the_give_up_without_user_timeout() -> None:
    probe = "send\n    kind: tcp-send\n    options: {connections: 1, first: 20m, user_timeout: 0}"
    few = predict(load_scenario_text(scenario("{tcp_retries2: 3}", probe))).probes[0].connections[0]
    assert few.verdict.value == "dead" and "ETIMEDOUT" in few.detail + few.explanation
    many = predict(load_scenario_text(scenario("{}", probe))).probes[0].connections[0]
    assert few.elapsed is not None and many.elapsed is not None and few.elapsed < many.elapsed


def test_the_lab_driver_gives_tcp_keepalive_the_hosts_values_unless_its_options_set_them() -> None:
    host = Endpoint(tcp_keepalive_intvl=60.0, tcp_keepalive_probes=2)
    assert system_keepalive(TcpKeepaliveOptions(), host) == {"keepalive_interval": 60.0, "keepalive_count": 2}
    assert system_keepalive(TcpKeepaliveOptions(keepalive_interval=30.0), host)["keepalive_interval"] == 30.0
    assert system_keepalive(TcpSendOptions(), host) == {}


def test_a_sweep_varies_a_hosts_setting() -> None:
    loaded = load_scenario(SHORT / "host-keepalive.yaml")
    param = parse_param("client.tcp_keepalive_time=5m,20m", loaded)
    assert (param.target, param.values) == ("host", (300.0, 1200.0))
    first = [verdicts(predict(param.apply(loaded, v)))["sessions"][0] for v in param.values]
    assert first == ["alive", "dead"]
    with pytest.raises(ConfigError, match=r"a host has no setting 'tcp_keepalive' .*did you mean"):
        parse_param("client.tcp_keepalive=5m", loaded)
    with pytest.raises(ConfigError, match=r"client\.tcp_keepalive_time: 7s at time_scale 60"):
        parse_param("client.tcp_keepalive_time=7s", loaded)


@pytest.mark.parametrize(("host", "error"), [
    ("{tcp_keepalive: 5m}", r"<text>:7:12: unknown setting 'client.tcp_keepalive' for host .*did you mean"),
    ("{tcp_keepalive_time: soon}", r"<text>:7:32: client.tcp_keepalive_time: malformed duration"),
    ("{tcp_keepalive_time: 7s}", r"<text>:7:32: client.tcp_keepalive_time: 7s at time_scale 60"),
    ("{tcp_retries2: 0}", r"<text>:7:26: client.tcp_retries2: must be at least 1"),
])
def test_bad_host_settings_name_their_position(host: str, error: str) -> None:
    with pytest.raises(ScenarioError, match=error):
        load_scenario_text(scenario(host, "send\n    kind: tcp-send"))


def test_a_middlebox_is_not_a_host() -> None:
    text = scenario("{}", "send\n    kind: tcp-send").replace("  client: {}", "  router: {}")
    with pytest.raises(ScenarioError, match=r"<text>:7:3: .*router"):
        load_scenario_text(text)
