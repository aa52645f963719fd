"""The conformance battery against the lab CGN: each requirement on a compliant and a violating
config (root tier). Time scales are chosen so every timeout lands on whole lab seconds."""

from __future__ import annotations

from typing import Any

import pytest

from natsim.conform.battery import run_battery
from natsim.conform.verdict import Outcome

pytestmark = pytest.mark.natsim_netns
TARGET = "isp-bridge-cgn:cgn"
#: Both UDP timers at RFC 4787 REQ-5's 2 minutes.
UDP_2M = {"udp_timeout": "2m", "udp_stream_timeout": "2m"}

CASES: list[tuple[str, dict[str, Any], float, Outcome]] = [
    ("rfc5382-req1", {}, 240, Outcome.PASS),
    ("rfc5382-req1", {"port_preservation": "false"}, 240, Outcome.FAIL),
    ("rfc5382-req4", {"untracked_inbound": "drop"}, 240, Outcome.PASS),
    ("rfc5382-req4", {"untracked_inbound": "reset"}, 240, Outcome.FAIL),
    ("rfc5382-req5-established", {"idle_timeout": "2h4m"}, 240, Outcome.PASS),   # OpenWrt-like 7440 s
    ("rfc5382-req5-established", {"idle_timeout": "1h"}, 240, Outcome.FAIL),     # the incident's box
    ("rfc5382-req5-transitory", {"transitory_timeout": "4m"}, 240, Outcome.PASS),
    ("rfc5382-req5-transitory", {"transitory_timeout": "2m"}, 120, Outcome.FAIL),
    ("rfc5382-req10", {}, 240, Outcome.PASS),
    ("rfc4787-req1", {}, 240, Outcome.PASS),
    # UDP keeps an endpoint-independent mapping without port preservation (natsim's mapping tables);
    # TCP's random ports (rfc5382-req1 above) are Linux's masquerade
    ("rfc4787-req1", {"port_preservation": "false"}, 240, Outcome.PASS),
    ("rfc4787-req1", {"mapping": "address-and-port-dependent", "port_preservation": "false"}, 240,
     Outcome.FAIL),
    ("rfc4787-req1", {"mapping": "address-dependent"}, 240, Outcome.FAIL),
    ("rfc4787-req3", {}, 240, Outcome.FAIL),                         # Linux's masquerade overloads
    ("rfc4787-req3", {"port_overloading": "false"}, 240, Outcome.PASS),
    # Linux's default UDP timer, 30 s, is rounded up to one kernel second at scale 240 (4 real minutes)
    ("rfc4787-req5", {}, 240, Outcome.PASS),
    ("rfc4787-req5", {}, 1, Outcome.FAIL),
    ("rfc4787-req5", UDP_2M, 60, Outcome.PASS),
    ("rfc4787-req5", {"udp_timeout": "1m", "udp_stream_timeout": "1m"}, 60, Outcome.FAIL),
    ("rfc4787-req6", {}, 240, Outcome.PASS),
    ("rfc4787-req6", {"refresh": "outbound", **UDP_2M}, 60, Outcome.PASS),
    ("rfc4787-req6", {"refresh": "inbound", **UDP_2M}, 60, Outcome.FAIL),   # outbound does not refresh
    ("rfc4787-req8", {}, 240, Outcome.FAIL),                         # address-and-port-dependent
    ("rfc4787-req8", {"filtering": "address-dependent"}, 240, Outcome.PASS),
    ("rfc4787-req8", {"filtering": "endpoint-independent"}, 240, Outcome.PASS),
    ("rfc4787-req9", {}, 240, Outcome.FAIL),
    ("rfc4787-req9", {"hairpinning": "true"}, 240, Outcome.PASS),
]


def _case_id(case: tuple[str, dict[str, Any], float, Outcome]) -> str:
    settings = "-".join(f"{k}={v}" for k, v in case[1].items()) or "defaults"
    return f"{case[0]}-{case[3].value.lower()}-{settings}-x{case[2]:g}"


@pytest.mark.parametrize(("requirement", "settings", "scale", "expected"), CASES,
                         ids=[_case_id(c) for c in CASES])
def test_requirement(requirement: str, settings: dict[str, Any], scale: float, expected: Outcome) -> None:
    report = run_battery(TARGET, {"cgn": settings}, time_scale=scale, only=[requirement])
    [verdict] = report.verdicts
    assert verdict.requirement == requirement
    assert verdict.outcome is expected, verdict.to_dict()
    assert verdict.evidence


def test_established_timeout_is_measured_between_grid_points() -> None:
    report = run_battery(TARGET, {"cgn": {"idle_timeout": "1h"}}, time_scale=240,
                         only=["rfc5382-req5-established"])
    [verdict] = report.verdicts
    assert verdict.value is not None and 3600 <= verdict.value <= 3600 * 1.3


def test_no_lab_middlebox_hairpins() -> None:
    # Linux SNAT without DNAT rules answers a hairpinned SYN from its own stack: REQ-8 fails.
    report = run_battery(TARGET, {}, time_scale=240, only=["rfc5382-req8"])
    [verdict] = report.verdicts
    assert verdict.outcome is Outcome.FAIL
    assert "ECONNREFUSED" in verdict.measured


def test_the_incident_modem_bridge_fails_req5_and_is_no_nat() -> None:
    report = run_battery("isp-bridge-cgn:cpe", {"cpe": {"idle_timeout": "1h"}}, time_scale=240,
                         only=["rfc5382-req1", "rfc5382-req5-established"])
    mapping, established = report.verdicts
    assert mapping.outcome is Outcome.UNTESTABLE  # the CGN translates, not the bridge
    assert established.outcome is Outcome.FAIL
    assert any("silently dropped" in e for e in established.evidence)
    assert any("cgn (cgn) made transparent" in n for n in report.notes)
