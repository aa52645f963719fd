"""SSH models: the proxy's negotiation and seeded bypass, OpenSSH idle sessions."""

from __future__ import annotations

import pytest

from natsim.middleboxes.abilities import negotiate
from natsim.middleboxes.presets import device
from natsim.middleboxes.ssh_proxy import SshProxy
from natsim.probes.ssh.backends import SSHD_KEX
from natsim.probes.ssh.wire import GO_SERVER_KEX as GO_SSH_KEX
from natsim.report.schema import Verdict
from natsim.run.predict import predict, predict_traced
from natsim.sim.trace import Bypassed, Cut
from tests.unit import plugin_kinds
from tests.unit.sim_scenarios import Probe, Scenario, incident_cpe

DC_CHAIN = ("client1", "fw", "gossh")


def dc(*probes: Probe, seed: int = 0, **proxy: object) -> Scenario:
    return Scenario("dc", {"fw": SshProxy(**proxy)}, probes, chain=DC_CHAIN,  # type: ignore[arg-type]
                    topology="dc-ssh-proxy", seed=seed)


def test_negotiation_picks_the_clients_first_supported() -> None:
    pan = SshProxy().kex
    assert negotiate(pan, GO_SSH_KEX) is None
    assert negotiate(pan, SSHD_KEX) == "diffie-hellman-group-exchange-sha256"
    assert negotiate(("b", "a"), ("a", "b")) == "b"


def test_first_connect_to_go_ssh_fails_once_then_bypassed() -> None:
    probe = Probe("first", "ssh-first-connect", client="client1", server="gossh",
                  options={"attempts": 4, "interval": 60.0, "client_impl": "go"})
    result, world = predict_traced(dc(probe))
    rows = result.probe("first").connections
    assert [(r.verdict, r.detail) for r in rows] == [
        (Verdict.EOF, "ssh: handshake failed: EOF"), (Verdict.OK, "SSH-2.0-Go"),
        (Verdict.OK, "SSH-2.0-Go"), (Verdict.OK, "SSH-2.0-Go")]
    (cut,), (bypassed,) = world.trace.of("first#0"), world.trace.of("first#1")
    assert isinstance(cut, Cut) and cut.offered == SshProxy().kex     # no common key exchange
    assert isinstance(bypassed, Bypassed) and bypassed.until == cut.time + cut.bypass    # in the bypass set


def test_sshd_behind_the_proxy_always_succeeds_with_the_proxy_banner() -> None:
    probe = Probe("first", "ssh-first-connect", client="client1", server="sshd",
                  options={"attempts": 20, "backend": "sshd"})
    rows = predict(dc(probe)).probe("first").connections
    assert {(r.verdict, r.detail) for r in rows} == {(Verdict.OK, "SSH-2.0-PaloAltoNetworks_0.2")}


def test_bypass_is_per_client_and_expires() -> None:
    probes = (Probe("a", "ssh-first-connect", client="client1", server="gossh", options={"attempts": 1}),
              Probe("b", "ssh-first-connect", client="client2", server="gossh", start=10.0,
                    options={"attempts": 1}),
              Probe("a-later", "ssh-first-connect", client="client1", server="gossh", start=3719.0,
                    options={"attempts": 1}),
              Probe("a-expired", "ssh-first-connect", client="client1", server="gossh", start=3840.0,
                    options={"attempts": 1}))
    result = predict(dc(*probes))
    assert [result.probe(n).connections[0].verdict for n in ("a", "b", "a-later", "a-expired")] == [
        Verdict.EOF, Verdict.EOF, Verdict.OK, Verdict.EOF]


def test_bypass_duration_is_seeded() -> None:
    probe = Probe("first", "ssh-first-connect", client="client1", server="gossh", options={"attempts": 1})

    def drawn(seed: int) -> float:
        (cut,) = predict_traced(dc(probe), seed=seed)[1].trace.of("first#0")
        assert isinstance(cut, Cut) and (cut.client, cut.server, cut.port) == ("client1", "gossh", 2222)
        return cut.bypass

    assert drawn(1) == drawn(1)
    assert drawn(1) != drawn(2)
    assert round(drawn(0), 2) == 3735.09


def test_bypass_timer_brackets_within_the_configured_range() -> None:
    probe = Probe("timer", "ssh-bypass-timer", client="client1", server="gossh")
    for seed in range(5):
        timer = predict(dc(probe), seed=seed).probe("timer")
        assert timer.complete
        assert timer.estimate is not None
        lower, upper = timer.estimate.lower, timer.estimate.upper
        assert lower is not None and upper is not None
        assert 3720 - 30 <= lower < upper <= 3840 + 30
        assert upper - lower <= 30
    narrow = predict(dc(probe, bypass=(600.0, 600.0))).probe("timer")
    assert narrow.estimate is not None
    assert narrow.estimate.upper == 600.0      # 600 itself is cut: the element expired


def test_kex_probe_sees_the_pan_banner_only_when_intercepted() -> None:
    probes = (Probe("first", "ssh-first-connect", client="client1", server="gossh", options={"attempts": 1}),
              Probe("kex1", "ssh-kex", client="client1", server="gossh", start=1.0),
              Probe("kex2", "ssh-kex", client="client2", server="gossh", start=1.0))
    result = predict(dc(*probes))
    assert result.probe("kex1").extra["banner"] == "SSH-2.0-Go"
    assert result.probe("kex2").extra["banner"] == "SSH-2.0-PaloAltoNetworks_0.2"
    assert result.probe("kex2").extra["intercepted"] is True


def test_uncovered_port_is_not_intercepted() -> None:
    probe = Probe("first", "ssh-first-connect", client="client1", server="gossh", options={"attempts": 1})
    rows = predict(dc(probe, ports=(22,))).probe("first").connections
    assert rows[0].verdict is Verdict.OK


def ssh_isp(*probes: Probe) -> Scenario:
    return Scenario("ssh", {"cpe": incident_cpe(), "cgn": device("cgn", idle_timeout=4 * 3600.0)}, probes)


def test_ssh_idle_through_the_incident_cpe() -> None:
    result = predict(ssh_isp(
        Probe("plain", "ssh-idle", options={"variants": ["59m,TCPKeepAlive=no", "61m,TCPKeepAlive=no"]}),
        Probe("alive", "ssh-idle", options={"variants": ["2h,ServerAliveInterval=300,TCPKeepAlive=no"]}),
        Probe("ka", "ssh-idle", options={"variants": ["2h20m"]})))
    plain = result.probe("plain").connections
    assert [c.verdict for c in plain] == [Verdict.ALIVE, Verdict.DEAD]
    assert plain[1].how == "read"
    assert plain[1].elapsed == 3660.0 + 300.0     # reply_timeout: 5 lab seconds
    assert result.probe("alive").connections[0].verdict is Verdict.ALIVE
    ka = result.probe("ka").connections[0]
    assert (ka.verdict, ka.how, ka.detail) == (Verdict.DEAD, "idle", "Connection timed out")
    # OS keepalive 7200 s, then 9 probes 75 s apart (1 lab second each at time scale 60)
    assert ka.elapsed == 7200.0 + 9 * 60.0


def test_server_alive_gives_up_after_count_max_plus_one_intervals() -> None:
    # the 1 h modem drops everything once idle: with ServerAliveInterval 3600 the first request
    # finds the entry expired; ssh quits at 4 x 3600 s, before the 5 h idle is over
    result = predict(ssh_isp(Probe("alive", "ssh-idle", options={
        "variants": ["5h,ServerAliveInterval=3600,TCPKeepAlive=no"]})))
    row = result.probe("alive").connections[0]
    assert (row.verdict, row.how) == (Verdict.DEAD, "idle")
    assert row.detail == "Timeout, server server not responding."
    assert row.elapsed == pytest.approx(4 * 3600.0)


def test_a_plugins_l7_middlebox_takes_part_in_ssh_logins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any model declaring SshInterceptor is the one an SSH login meets, not only ssh-proxy's."""
    plugin_kinds.registered(monkeypatch)
    probes = (Probe("first", "ssh-first-connect", client="client1", server="gossh", options={"attempts": 2}),
              Probe("kex", "ssh-kex", client="client1", server="gossh", start=10.0))
    result, world = predict_traced(Scenario("dc", {"fw": plugin_kinds.OtherProxy()}, probes, chain=DC_CHAIN,
                                            topology="dc-ssh-proxy"))
    rows = result.probe("first").connections
    assert [r.verdict for r in rows] == [Verdict.EOF, Verdict.EOF]           # ssh-proxy would bypass
    # the plugin's model cut both logins (it was asked twice), as its own events say
    assert [[(type(e).__name__, e.node) for e in world.trace.of(f"first#{i}")] for i in (0, 1)] == [
        [("Cut", "fw")], [("Cut", "fw")]]
    fw = world.models["fw"]
    assert isinstance(fw, plugin_kinds.OtherInterceptor) and fw.attempts == 2
    assert result.probe("first").extra["proxy"] == plugin_kinds.BANNER
    kex = result.probe("kex")
    assert (kex.extra["banner"], kex.extra["kex"]) == (plugin_kinds.BANNER, ["other-kex"])
