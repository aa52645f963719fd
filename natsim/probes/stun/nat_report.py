"""A :class:`~natsim.probes.stun.discovery.Discovery` in natsim's result schema (pure).

Each exchange is a :class:`~natsim.report.schema.ConnectionResult` (``how``: the test, ``idle``: the
binding-lifetime wait) with a verdict: ``ok`` an answer arrived (binding lifetime: ``alive``),
``dead`` no answer (silence, or an ICMP port unreachable: ``refused`` in its detail), ``error`` one
that cannot be used (an error response, garbage, an echo, an answer from the wrong address). The
classification is the probe's ``extra``; the binding lifetime bracket its ``estimate``.
"""

from __future__ import annotations

from typing import Any

from natsim.probes.stun.discovery import Discovery, Step
from natsim.probes.stun.exchange import Outcome
from natsim.probes.stun.judges import (
    Address,
    behind_nat,
    classic_name,
    judge_filtering,
    judge_mapping,
    port_preserved,
    shown,
)
from natsim.report.schema import ConnectionResult, Estimate, ProbeResult, Verdict, estimate_timeout
from natsim.units import format_duration


def verdict(step: Step) -> Verdict:
    """The verdict of one exchange."""
    if step.usable:
        return Verdict.ALIVE if step.test == "lifetime" else Verdict.OK
    if step.answer.outcome in (Outcome.NO_ANSWER, Outcome.REFUSED) and not step.problem:
        return Verdict.DEAD
    return Verdict.ERROR


def describe(step: Step) -> str:
    """``change IP and port to 203.0.113.10:3478: answered from 203.0.113.11:3479, mapped ...``."""
    answer = step.answer
    text = f"{step.ask.describe()} to {address(step.dest)}: {answer.outcome.value}"
    if answer.source is not None:
        text += f" from {address(answer.source)}"
    if answer.mapped is not None:
        text += f", mapped {address(answer.mapped)}"
    if answer.detail:
        text += f" ({answer.detail})"
    if step.problem:
        text += f"; {step.problem}"
    return text


def connection(index: int, step: Step) -> ConnectionResult:
    """One exchange as a connection result."""
    return ConnectionResult(index=index, idle=step.wait, verdict=verdict(step), how=step.test,
                            detail=describe(step))


def classification(found: Discovery) -> dict[str, Any]:
    """What the tests found, in RFC 4787 terms and the classic name (``unknown`` where a test could not
    tell), with the addresses seen and why a test did not run."""
    mapping = judge_mapping(found.mapping) if found.mapping is not None else None
    filtering = judge_filtering(found.filtering) if found.filtering is not None else None
    nat = behind_nat(found.mapping) if found.mapping is not None else None
    classic = classic_name(mapping, filtering, nat=nat)
    return {
        "summary": f"{shown(mapping)} mapping, {shown(filtering)} filtering, hairpinning "
                   f"{_yes_no(found.hairpinning)} ({classic})",
        "mapping": shown(mapping), "filtering": shown(filtering), "hairpinning": found.hairpinning,
        "classic": classic, "nat": nat,
        "port_preserved": port_preserved(found.mapping) if found.mapping is not None else None,
        "server": address(found.server), "other_address": address(found.other),
        "local": address(found.mapping.local) if found.mapping is not None else None,
        "mapped": address(found.mapping.primary) if found.mapping is not None else None,
        "skipped": dict(found.skipped),
    }


#: The order of a result's exchanges: by test (they run side by side), lifetime waits by length.
ORDER = ("binding", "mapping-2", "mapping-3", "filtering-1", "filtering-2", "filtering-3", "hairpinning",
         "lifetime")


def probe_result(found: Discovery, *, kind: str, name: str | None = None, node: str | None = None,
                 complete: bool = True) -> ProbeResult:
    """The probe's result: a connection per exchange (in test order, whatever order the concurrent
    tests ended in, so two runs compare exchange by exchange), the classification, the lifetime
    bracket."""
    steps = sorted(found.steps, key=lambda s: (ORDER.index(s.test), s.wait))
    connections = [connection(i, step) for i, step in enumerate(steps)]
    lifetimes = [c for c in connections if c.how == "lifetime"]
    return ProbeResult(name=name or kind, kind=kind, target=address(found.server) or "", node=node,
                       connections=connections,
                       estimate=estimate_timeout(lifetimes) if lifetimes else None,
                       extra=classification(found), complete=complete)


def summary_lines(result: ProbeResult) -> list[str]:
    """``mapping: endpoint-independent`` ... ``classic: port-restricted cone``: what a person reads."""
    extra = result.extra
    lines = [f"mapping: {extra['mapping']}", f"filtering: {extra['filtering']}",
             f"hairpinning: {_yes_no(extra.get('hairpinning'))}", f"classic: {extra['classic']}"]
    if extra.get("nat") is False:
        lines.append("no NAT: the server saw this host's own address")
    if result.estimate is not None:
        lines.append(f"binding lifetime: {lifetime_text(result.estimate)}")
    lines += [f"{test}: not tested: {why}" for test, why in extra.get("skipped", {}).items()]
    return lines


def _yes_no(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "unknown"}[value]


def lifetime_text(estimate: Estimate) -> str:
    """``between 30s and 1m``, ``at least 5m`` (every wait survived), ``below 30s``."""
    lower, upper = estimate.lower, estimate.upper
    if upper is None:
        return "not measured" if lower is None else f"at least {format_duration(lower)}"
    if lower is None:
        return f"below {format_duration(upper)}"
    return f"between {format_duration(lower)} and {format_duration(upper)}"


def address(value: Address | None) -> str | None:
    """``ip:port`` (None stays None)."""
    return None if value is None else f"{value[0]}:{value[1]}"
