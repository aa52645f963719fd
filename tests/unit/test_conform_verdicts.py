"""The conformance rules, fed with made-up observations (no lab)."""

from __future__ import annotations

import pytest

from natsim.commands.conform import parse_sets
from natsim.conform.battery import select
from natsim.conform.target import parse_target
from natsim.conform.timing import idle_grid
from natsim.conform.verdict import (
    Outcome,
    Probe,
    judge_alive_after,
    judge_hairpin,
    judge_mapping,
    judge_timeout,
    judge_unsolicited_syn,
)
from natsim.errors import ConfigError

T = 7440.0


def test_timeout_fails_when_a_mapping_dies_before_the_threshold() -> None:
    probes = [Probe(1860, True), Probe(2976, True), Probe(3720, False), Probe(4464, False)]
    v = judge_timeout("r", "t", T, probes, tolerance=74.4)
    assert v.outcome is Outcome.FAIL
    assert v.measured == "between 49m36s and 1h2m"
    assert v.value == 3720


def test_timeout_passes_when_survived_threshold_minus_tolerance() -> None:
    probes = [Probe(3720, True), Probe(T - 74.4, True), Probe(9300, False)]
    v = judge_timeout("r", "t", T, probes, tolerance=74.4)
    assert v.outcome is Outcome.PASS
    assert v.measured.startswith("between 2h2m46s and 2h35m")


def test_timeout_untestable_when_probes_stop_short() -> None:
    v = judge_timeout("r", "t", T, [Probe(100, True)], tolerance=74.4)
    assert v.outcome is Outcome.UNTESTABLE
    assert v.measured.startswith("> 1m40s")


def test_mapping_rules() -> None:
    same = judge_mapping("r", "t", {"a:1": "192.0.2.1:5", "b:1": "192.0.2.1:5"})
    assert same.outcome is Outcome.PASS
    different = judge_mapping("r", "t", {"a:1": "192.0.2.1:5", "b:1": "192.0.2.1:9"})
    assert different.outcome is Outcome.FAIL
    assert judge_mapping("r", "t", {"a:1": "192.0.2.1:5"}).outcome is Outcome.UNTESTABLE


@pytest.mark.parametrize(("reply", "after", "expected"), [
    ("none", None, Outcome.PASS),           # silent drop
    ("rst", 0.02, Outcome.FAIL),            # immediate RST
    ("icmp-3-3", 0.5, Outcome.FAIL),        # answered too early
    ("icmp-3-3", 6.5, Outcome.PASS),        # port unreachable after 6 s, as REQ-4 suggests
])
def test_unsolicited_syn(reply: str, after: float | None, expected: Outcome) -> None:
    assert judge_unsolicited_syn("r", "t", reply, after, 240.0).outcome is expected


def test_alive_after_and_hairpin() -> None:
    assert judge_alive_after("r", "t", "icmp", {"down": True, "up": True}).outcome is Outcome.PASS
    broken = judge_alive_after("r", "t", "icmp", {"down": False, "up": True})
    assert broken.outcome is Outcome.FAIL and "down" in broken.measured
    ok = judge_hairpin("r", "t", "connected", "192.0.2.1:4000", "192.0.2.1:5000")
    assert ok.outcome is Outcome.PASS
    internal = judge_hairpin("r", "t", "connected", "100.64.1.10:4000", "192.0.2.1:5000")
    assert internal.outcome is Outcome.FAIL
    assert judge_hairpin("r", "t", "failed (ECONNREFUSED)", None, "192.0.2.1:5000").outcome is Outcome.FAIL


def test_idle_grid_brackets_the_threshold() -> None:
    grid = idle_grid(31.0, 0.31, cap_lab=45.0)
    assert grid == sorted(grid)
    assert 31.0 - 0.31 in grid
    assert max(grid) <= 45.0 and min(grid) > 0
    assert any(g > 31.0 for g in grid)


def test_target_sets_and_selection_parsing() -> None:
    assert parse_target("isp-bridge-cgn:cgn") == ("isp-bridge-cgn", "cgn")
    with pytest.raises(ConfigError):
        parse_target("cgn")
    assert parse_sets(["cgn.idle_timeout=1h", "cgn.pool=192.0.2.0/30"]) == {
        "cgn": {"idle_timeout": "1h", "pool": "192.0.2.0/30"}}
    with pytest.raises(ConfigError):
        parse_sets(["idle_timeout=1h"])
    assert select(["rfc4787"]) == ["rfc4787-req1", "rfc4787-req3", "rfc4787-req5", "rfc4787-req6",
                                   "rfc4787-req8", "rfc4787-req9"]
    assert select(["rfc5382-req1"]) == ["rfc5382-req1"]
    assert select(["rfc5382-req5"]) == ["rfc5382-req5-established", "rfc5382-req5-transitory"]
    with pytest.raises(ConfigError, match="unknown requirement"):
        select(["rfc9999"])
