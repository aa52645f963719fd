"""Model vs lab comparison."""

from __future__ import annotations

from natsim.report.schema import ConnectionResult, ProbeResult, RunResult, Verdict
from natsim.run.compare import all_agree, compare, format_comparison

A, D = Verdict.ALIVE, Verdict.DEAD


def result(source: str, verdicts: list[Verdict], uncertain: list[int] | None = None) -> RunResult:
    conns = [ConnectionResult(i, 60.0 * (i + 1), v, explanation=f"why {i}") for i, v in enumerate(verdicts)]
    extra = {"uncertain": uncertain} if uncertain is not None else {}
    return RunResult(source=source, probes=[ProbeResult("send", "tcp-send", "server", connections=conns,
                                                        extra=extra)])


def test_same_verdicts_agree() -> None:
    rows = compare(result("lab", [A, D]), result("model", [A, D]))
    assert [r.agrees for r in rows] == [True, True]
    assert "2 of 2 connections agree" in format_comparison(rows)


def test_a_different_verdict_is_a_disagreement() -> None:
    rows = compare(result("lab", [A, D]), result("model", [A, A]))
    assert [r.agrees for r in rows] == [True, False]
    assert "<-- DISAGREE" in format_comparison(rows, only_disagreements=True)


def test_uncertain_connections_accept_either_verdict() -> None:
    rows = compare(result("lab", [D, D]), result("model", [A, D], uncertain=[0]))
    assert all(r.agrees for r in rows)
    assert "model: either verdict" in format_comparison(rows)


def test_a_connection_missing_from_the_lab_does_not_agree() -> None:
    rows = compare(result("lab", [A]), result("model", [A, D]))
    assert [r.agrees for r in rows] == [True, False]


def test_rows_as_json_and_agreement() -> None:
    rows = compare(result("lab", [A, D]), result("model", [A, A]))
    assert rows[1].to_dict() == {"probe": "send", "index": 1, "idle": 120.0, "observed": "dead",
                                 "predicted": "alive", "agrees": False, "uncertain": False,
                                 "explanation": "why 1"}
    missing = compare(result("lab", [A]), result("model", [A, D]))[1].to_dict()
    assert missing["observed"] is None and missing["agrees"] is False
    assert not all_agree(rows) and not all_agree([])
    assert all_agree(compare(result("lab", [A, D]), result("model", [A, D])))


def test_disagreements_only_shows_no_row_that_agrees() -> None:
    """The demo's brief table: rows where the model allows either verdict agree, so they are not
    listed under a "disagreements only" heading; the count says how many there were."""
    rows = compare(result("lab", [A, D, D, A]), result("model", [A, A, D, D], uncertain=[1]))
    text = format_comparison(rows, only_disagreements=True)
    lines = text.splitlines()
    assert lines[0].endswith("disagreements only:")
    assert [line.split()[1] for line in lines[2:-1]] == ["3"]   # only connection 3 disagrees
    assert lines[-1] == ("3 of 4 connections agree (1 where the model allows either verdict: a kernel "
                         "timer that may fire late)")


def test_disagreements_only_when_all_agree_is_one_line() -> None:
    rows = compare(result("lab", [A, D]), result("model", [A, A], uncertain=[1]))
    assert format_comparison(rows, only_disagreements=True) == (
        "The model's prediction beside the lab's observation: 2 of 2 connections agree "
        "(1 where the model allows either verdict: a kernel timer that may "
        "fire late)")
