"""Verdicts of the conformance battery, and the pure rules that turn observations into them.

Every rule takes measured values in real-world seconds (lab seconds × time scale) and returns a
:class:`Verdict` with the evidence, so each can be unit-tested with made-up observations.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from natsim.units import format_duration


class Outcome(enum.StrEnum):
    """PASS, FAIL or UNTESTABLE (the lab could not exercise the requirement)."""

    PASS = "PASS"
    FAIL = "FAIL"
    UNTESTABLE = "UNTESTABLE"


@dataclass
class Verdict:
    """The result of one requirement."""

    requirement: str
    title: str
    outcome: Outcome
    measured: str
    evidence: list[str] = field(default_factory=list)
    value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"requirement": self.requirement, "title": self.title, "outcome": self.outcome.value,
                "measured": self.measured, "value": self.value, "evidence": self.evidence}


@dataclass(frozen=True)
class Probe:
    """A mapping left idle for ``idle`` real-world seconds, then tested from outside."""

    idle: float
    alive: bool
    detail: str = ""


def lifetime_bounds(probes: list[Probe]) -> tuple[float | None, float | None]:
    """(longest idle survived, shortest idle that killed) over the probes."""
    alive = [p.idle for p in probes if p.alive]
    dead = [p.idle for p in probes if not p.alive]
    return (max(alive) if alive else None, min(dead) if dead else None)


def judge_timeout(requirement: str, title: str, threshold: float, probes: list[Probe],
                  tolerance: float) -> Verdict:
    """A mapping must survive ``threshold`` real seconds of idle (minus the lab's timing ``tolerance``)."""
    survived, died = lifetime_bounds(probes)
    if survived is not None and died is not None and died < survived:
        measured = f"inconsistent: survived {format_duration(round(survived))}, died at " \
                   f"{format_duration(round(died))}"
    elif died is None:
        measured = f"> {format_duration(round(survived or 0))} (no probe expired)"
    else:
        measured = f"between {format_duration(round(survived or 0))} and {format_duration(round(died))}"
    evidence = [f"idle {format_duration(round(p.idle))}: {'alive' if p.alive else 'expired'}"
                + (f" ({p.detail})" if p.detail else "") for p in sorted(probes, key=lambda p: p.idle)]
    needed = threshold - tolerance
    if died is not None and died < needed:
        outcome = Outcome.FAIL
    elif survived is not None and survived >= needed:
        outcome = Outcome.PASS
    else:
        outcome = Outcome.UNTESTABLE
        evidence.append(f"no probe reached {format_duration(round(needed))}")
    evidence.append(f"required ≥ {format_duration(threshold)} (lab timing tolerance "
                    f"{tolerance:.1f} s real)")
    return Verdict(requirement, title, outcome, measured, evidence,
                   value=died if died is not None else survived)


def judge_mapping(requirement: str, title: str, seen: dict[str, str]) -> Verdict:
    """Endpoint-independent mapping: one internal endpoint gets the same external address:port
    towards every destination. ``seen`` maps destination → external endpoint the server saw."""
    evidence = [f"towards {dst}: mapped to {src}" for dst, src in seen.items()]
    if len(seen) < 2:
        return Verdict(requirement, title, Outcome.UNTESTABLE, "fewer than two destinations reached",
                       evidence)
    mapped = set(seen.values())
    if len(mapped) == 1:
        return Verdict(requirement, title, Outcome.PASS, f"same mapping {mapped.pop()}", evidence)
    return Verdict(requirement, title, Outcome.FAIL, f"{len(mapped)} different mappings", evidence)


def judge_unsolicited_syn(requirement: str, title: str, reply: str, after_real: float | None,
                          waited_real: float) -> Verdict:
    """RFC 5382 REQ-4: no answer to an unsolicited inbound SYN for at least 6 s; then, if anything,
    ICMP port unreachable (3/3)."""
    if reply == "none":
        return Verdict(requirement, title, Outcome.PASS, f"silent for {waited_real:.0f} s",
                       [f"unsolicited SYN: no answer within {waited_real:.1f} s",
                        "no ICMP port unreachable afterwards (a SHOULD, not tested further)"])
    when = after_real if after_real is not None else 0.0
    evidence = [f"unsolicited SYN answered with {reply} after {when:.3f} s"]
    if when < 6.0:
        return Verdict(requirement, title, Outcome.FAIL, f"{reply} after {when:.3f} s", evidence,
                       value=when)
    return Verdict(requirement, title, Outcome.PASS, f"{reply} after {when:.1f} s", evidence, value=when)


def judge_alive_after(requirement: str, title: str, action: str, checks: dict[str, bool]) -> Verdict:
    """A connection or mapping must still work after ``action`` (an ICMP error, outbound refreshes).
    ``checks`` maps each check (e.g. ``'server → client data'``) to whether it got through."""
    evidence = [f"{action}"] + [f"{name}: {'ok' if ok else 'FAILED'}" for name, ok in checks.items()]
    if checks and all(checks.values()):
        return Verdict(requirement, title, Outcome.PASS, "still working", evidence)
    return Verdict(requirement, title, Outcome.FAIL,
                   "broken: " + ", ".join(n for n, ok in checks.items() if not ok), evidence)


def judge_hairpin(requirement: str, title: str, result: str, seen_from: str | None,
                  mapped_client: str | None) -> Verdict:
    """RFC 5382 REQ-8 (and 4787 REQ-9): an inside host reaches another inside endpoint through its
    external mapping, and sees the connecting host's external address as the source."""
    evidence = [f"connect to the external mapping: {result}"]
    if seen_from:
        evidence.append(f"listener saw the connection from {seen_from}")
    if result not in ("connected", "delivered") or seen_from is None:
        return Verdict(requirement, title, Outcome.FAIL, f"hairpin {result}", evidence)
    if mapped_client and seen_from.split(":")[0] != mapped_client.split(":")[0]:
        return Verdict(requirement, title, Outcome.FAIL, f"hairpinned with internal source {seen_from}",
                       evidence)
    return Verdict(requirement, title, Outcome.PASS, f"hairpinned, source {seen_from}", evidence)


def judge_port_assignment(requirement: str, title: str, first: tuple[str, str], second: tuple[str, str]
                          ) -> Verdict:
    """RFC 4787 REQ-3: no port overloading. ``first`` and ``second``: (internal endpoint, external
    endpoint the server saw) of two internal endpoints with the same port, towards different servers."""
    evidence = [f"internal {first[0]} → external {first[1]}", f"internal {second[0]} → external {second[1]}"]
    if not first[1] or not second[1]:
        return Verdict(requirement, title, Outcome.UNTESTABLE, "a datagram did not reach the server",
                       evidence)
    if first[1] == second[1]:
        return Verdict(requirement, title, Outcome.FAIL, f"port overloading: both use {first[1]}", evidence)
    return Verdict(requirement, title, Outcome.PASS, "one internal endpoint per external port", evidence)


def filtering_class(same_address: bool, other_address: bool) -> str | None:
    """The filtering behaviour a mapping showed: who besides the endpoint it sent to got in (None: an
    other address got in but the same address from another port did not, which no class allows)."""
    if same_address and other_address:
        return "endpoint-independent"
    if same_address:
        return "address-dependent"
    if not other_address:
        return "address-and-port-dependent"
    return None


def judge_filtering(requirement: str, title: str, same_address: bool, other_address: bool) -> Verdict:
    """RFC 4787 REQ-8: endpoint-independent filtering (transparency) or address-dependent filtering
    (stringency) is recommended; address-and-port-dependent filtering is neither."""
    evidence = [f"from the server's address, another port: {'delivered' if same_address else 'refused'}",
                f"from another address: {'delivered' if other_address else 'refused'}"]
    found = filtering_class(same_address, other_address)
    if found is None:
        return Verdict(requirement, title, Outcome.FAIL, "inconsistent filtering", evidence)
    outcome = Outcome.FAIL if found == "address-and-port-dependent" else Outcome.PASS
    return Verdict(requirement, title, outcome, f"{found} filtering", evidence)
