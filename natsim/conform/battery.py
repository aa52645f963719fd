"""The RFC 5382 (TCP) and RFC 4787 (UDP) conformance battery against a lab middlebox.

:func:`run_battery` brings up the lab around the target, starts an agent on each side and runs
the requested requirements, returning one :class:`Verdict` each (PASS / FAIL / UNTESTABLE, with the
measured value and evidence). Times in verdicts are real-world (lab seconds × time scale).
The requirement tests are in :mod:`.rfc5382` (TCP) and :mod:`.rfc4787` (UDP).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from natsim.conform.agent_client import Agent
from natsim.conform.context import Context, discover
from natsim.conform.rfc4787 import udp_filtering, udp_hairpin, udp_mapping, udp_port_assignment
from natsim.conform.rfc4787_timers import udp_refresh, udp_timer
from natsim.conform.rfc5382 import (
    established_idle,
    hairpin,
    icmp_keeps_mapping,
    tcp_mapping,
    transitory_idle,
    unsolicited_syn,
)
from natsim.conform.target import build_lab, start_target
from natsim.conform.verdict import Verdict
from natsim.errors import ConfigError
from natsim.units import TimeScale

REQUIREMENTS: dict[str, Callable[[Context], Verdict]] = {
    "rfc5382-req1": tcp_mapping,
    "rfc5382-req4": unsolicited_syn,
    "rfc5382-req5-established": established_idle,
    "rfc5382-req5-transitory": transitory_idle,
    "rfc5382-req8": hairpin,
    "rfc5382-req10": icmp_keeps_mapping,
    "rfc4787-req1": udp_mapping,
    "rfc4787-req3": udp_port_assignment,
    "rfc4787-req5": udp_timer,
    "rfc4787-req6": udp_refresh,
    "rfc4787-req8": udp_filtering,
    "rfc4787-req9": udp_hairpin,
}


@dataclass
class ConformReport:
    """Verdicts of one battery run."""

    target: str
    time_scale: float
    settings: dict[str, dict[str, Any]]
    notes: list[str]
    verdicts: list[Verdict]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"target": self.target, "time_scale": self.time_scale, "settings": self.settings,
                "notes": self.notes, "verdicts": [v.to_dict() for v in self.verdicts]}


def select(only: list[str] | None) -> list[str]:
    """Requirement names to run: exact, or a dash-separated prefix (``rfc4787``, ``rfc5382-req5``)."""
    if not only:
        return list(REQUIREMENTS)
    def matches(name: str, wanted: str) -> bool:
        return name == wanted or name.startswith(wanted + "-")

    chosen = [name for name in REQUIREMENTS if any(matches(name, o) for o in only)]
    unknown = [o for o in only if not any(matches(n, o) for n in REQUIREMENTS)]
    if unknown:
        raise ConfigError(f"unknown requirement(s) {', '.join(unknown)}; known: {', '.join(REQUIREMENTS)}")
    return chosen


def run_battery(target: str, settings: Mapping[str, Mapping[str, Any]] | None = None, *,
                time_scale: float = 240.0, only: list[str] | None = None,
                trust: bool = False) -> ConformReport:
    """Bring up the lab around ``target`` (``TOPOLOGY:NODE``) and run the requirements; ``trust``
    allows a topology file that is not shipped with natsim."""
    names = select(only)
    lab, node, notes = build_lab(target, settings or {}, TimeScale(time_scale), trust=trust)
    verdicts = []
    with lab:
        tgt = start_target(lab, node, notes)
        inside, outside = Agent(lab, tgt.inside_host), Agent(lab, tgt.outside_host)
        try:
            ctx = Context(tgt, inside, outside)
            discover(ctx)
            for name in names:
                verdicts.append(REQUIREMENTS[name](ctx))
        finally:
            inside.close()
            outside.close()
    return ConformReport(target, time_scale, {k: dict(v) for k, v in (settings or {}).items()},
                         tgt.notes, verdicts)
