"""The shipped UDP scenarios and their short forms: the model meets each file's expectations, with the
story the file tells (lab agreement: tests/netns/test_sim_agreement.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from natsim.expect import check_expectations
from natsim.report.schema import Verdict
from natsim.run.predict import predict
from natsim.scenario import load_scenario, shipped_scenarios

SHORT = Path(__file__).resolve().parents[1] / "e2e" / "short"
UDP_SCENARIOS = ["cloud-nat-udp", "wireguard-cgn-udp-30s"]
FILES = [*(shipped_scenarios()[name] for name in UDP_SCENARIOS),
         *(SHORT / f"{name}.yaml" for name in UDP_SCENARIOS)]


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_model_meets_the_scenarios_expectations(path: Path) -> None:
    scenario = load_scenario(path)
    result = predict(scenario)
    assert result.complete and {p.name for p in result.probes} == set(scenario.expect)
    assert all(c.verdict is not Verdict.ERROR for p in result.probes for c in p.connections)
    failed = [c for c in check_expectations(result, scenario.expect) if not c.ok]
    assert failed == []


def test_cloud_nat_loses_the_answer_after_its_30s_timer_and_refreshes_save_it() -> None:
    result = predict(load_scenario("cloud-nat-udp"))
    exchange = result.probe("exchange")
    assert [c.verdict for c in exchange.connections] == [Verdict.ALIVE] + [Verdict.DEAD] * 4
    assert "router udp_unreplied timeout 30s" in exchange.connections[1].explanation
    assert {c.verdict for c in result.probe("waiting").connections} == {Verdict.ALIVE}


def test_wireguard_without_keepalive_dies_30s_after_its_last_datagram_and_says_what_ran() -> None:
    result = predict(load_scenario("wireguard-cgn-udp-30s"))
    tunnel = result.probe("tunnel")
    assert [c.verdict for c in tunnel.connections] == [Verdict.ALIVE] * 2 + [Verdict.DEAD] * 4
    assert "the server's keepalive at 10s" in tunnel.connections[2].explanation
    assert "WireGuard" in str(tunnel.extra["ran"])
    assert [c.verdict for c in result.probe("udp").connections] == [Verdict.ALIVE, Verdict.DEAD, Verdict.DEAD]
