"""The ``found:`` expectation: named findings of a probe (its result's ``extra``) have given values."""

from __future__ import annotations

from typing import Any

from natsim.expect import check_expectations
from natsim.report.schema import ProbeResult, RunResult


def result(**extra: Any) -> RunResult:
    probe = ProbeResult(name="nat", kind="nat-type", target="203.0.113.10:3478", node="client",
                        connections=[], extra=extra)
    return RunResult(source="lab", time_scale=1.0, started=0.0, finished=1.0, probes=[probe])


def test_found_holds_when_every_named_finding_has_its_value() -> None:
    run = result(mapping="endpoint-independent", filtering="address-dependent", hairpinning=False)
    [check] = check_expectations(run, {"nat": {"found": {"mapping": "endpoint-independent",
                                                         "hairpinning": False}}})
    assert check.ok
    assert check.describe() == ("nat.found: expected mapping endpoint-independent, hairpinning false, "
                                "observed mapping endpoint-independent, hairpinning false — ok")


def test_found_fails_on_one_wrong_or_missing_finding_and_says_which() -> None:
    run = result(mapping="address-dependent", hairpinning=None)
    [check] = check_expectations(run, {"nat": {"found": {"mapping": "endpoint-independent",
                                                         "hairpinning": False, "classic": "full cone"}}})
    assert not check.ok
    assert check.observed == "mapping address-dependent, hairpinning null, classic null"


def test_a_truth_value_is_not_a_number() -> None:
    [check] = check_expectations(result(nat=True), {"nat": {"found": {"nat": 1}}})
    assert not check.ok
