"""Checking a run's result against a scenario's ``expect:`` block (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from natsim.report.schema import ProbeResult, RunResult, Verdict
from natsim.units import format_duration

FAILED = (Verdict.DEAD, Verdict.RESET, Verdict.EOF, Verdict.REFUSED, Verdict.ERROR)
WORKED = (Verdict.ALIVE, Verdict.OK)


@dataclass(frozen=True)
class Check:
    """One expectation and whether it held."""

    probe: str
    key: str
    expected: str
    observed: str
    ok: bool

    def describe(self) -> str:
        """``'send.first_dead: expected 59, observed 59 — ok'``."""
        mark = "ok" if self.ok else "FAILED"
        return f"{self.probe}.{self.key}: expected {self.expected}, observed {self.observed} — {mark}"


def _first_dead(probe: ProbeResult) -> int | None:
    for conn in sorted(probe.connections, key=lambda c: c.index):
        if conn.verdict in FAILED:
            return conn.index
    return None


def _check_one(probe: ProbeResult, key: str, expected: Any) -> Check:
    conns = sorted(probe.connections, key=lambda c: c.index)
    verdicts = tuple(c.verdict for c in conns)
    if key == "first_dead":
        observed: Any = _first_dead(probe)
        return Check(probe.name, key, str(expected), str(observed), observed == expected)
    if key == "all_alive":
        alive = bool(conns) and all(v in WORKED for v in verdicts)
        bad = [f"{c.index}:{c.verdict.value}" for c in conns if c.verdict not in WORKED]
        return Check(probe.name, key, str(expected), "all alive" if alive else f"not alive: {', '.join(bad)}",
                     alive == expected)
    if key == "dead_from":
        wrong = [f"{c.index} (idle {format_duration(c.idle)}: {c.verdict.value})" for c in conns
                 if (c.idle >= expected) != (c.verdict in FAILED)]
        return Check(probe.name, key, f"dead from idle {format_duration(expected)}, alive below",
                     "as expected" if not wrong else "mismatch: " + ", ".join(wrong), not wrong)
    if key == "dead_between":
        lo, hi = expected
        wrong = [f"{c.index} (idle {format_duration(c.idle)}: {c.verdict.value})" for c in conns
                 if (c.idle < lo and c.verdict in FAILED) or (c.idle >= hi and c.verdict not in FAILED)]
        return Check(probe.name, key, f"alive below {format_duration(lo)}, dead from {format_duration(hi)}",
                     "as expected" if not wrong else "mismatch: " + ", ".join(wrong), not wrong)
    if key in ("verdicts", "attempts"):
        want = tuple(Verdict(v) for v in expected)
        return Check(probe.name, key, ", ".join(v.value for v in want), ", ".join(v.value for v in verdicts),
                     verdicts == want)
    if key == "bypass_bracket_within":
        lo, hi = expected
        bracket = probe.extra.get("bracket") or [None, None]
        low, high = bracket[0], bracket[1]
        ok = low is not None and high is not None and lo <= low and high <= hi
        shown = f"[{low:g}, {high:g}] s" if ok or (low is not None and high is not None) else "no bracket"
        return Check(probe.name, key, f"within [{lo:g}, {hi:g}] s", shown, ok)
    if key == "found":
        shown = ", ".join(f"{k} {_plain(probe.extra.get(k))}" for k in expected)
        return Check(probe.name, key, ", ".join(f"{k} {_plain(v)}" for k, v in expected.items()), shown,
                     all(_same(probe.extra.get(k), v) for k, v in expected.items()))
    if key == "exit_code":
        code = probe.extra.get("exit_code")
        return Check(probe.name, key, str(expected), str(code), code == expected)
    raise AssertionError(f"unknown expectation {key}")


def _plain(value: Any) -> str:
    """A finding as a scenario file writes it: ``true``, ``null``, ``endpoint-independent``."""
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _same(observed: Any, wanted: Any) -> bool:
    """Equal, and a truth value only to a truth value (``true`` is not ``1``)."""
    return isinstance(observed, bool) == isinstance(wanted, bool) and observed == wanted


def check_expectations(result: RunResult, expect: Mapping[str, Mapping[str, Any]]) -> list[Check]:
    """Every expectation of every probe; a probe missing from the result fails its checks."""
    checks: list[Check] = []
    for name, wanted in expect.items():
        try:
            probe = result.probe(name)
        except KeyError:
            checks.extend(Check(name, key, str(value), "probe produced no result", False)
                          for key, value in wanted.items())
            continue
        checks.extend(_check_one(probe, key, value) for key, value in wanted.items())
    return checks
