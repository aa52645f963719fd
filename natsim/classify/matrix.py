"""The configurations of a matrix scenario and how one classifier run is judged (pure).

A configuration is a ``nat-type`` probe of the scenario with a ``found`` expectation: its client node,
the STUN server it talks to, and what a classifier must report there. In ``nat-type-matrix`` that is
each NAT's configured behaviour (a unit test checks the scenario's ``found`` against its NATs' settings).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from natsim.classify.findings import Findings, Verdict, compare
from natsim.classify.parsers import parse
from natsim.errors import ConfigError
from natsim.fields import closest
from natsim.probes.stun.options import NatTypeOptions
from natsim.probes.stun.ports import STUN_PORT
from natsim.scenario import Scenario

#: Exit codes of ``sh -c`` when it could not run the command: not executable, not found.
NOT_RUN = {126: "not executable", 127: "command not found"}


@dataclass(frozen=True)
class Configuration:
    """One NAT configuration: where the classifier runs, the server it asks, what it must report."""

    name: str
    client: str
    server: str
    port: int
    expected: Findings


def configurations(scenario: Scenario, only: Sequence[str] = ()) -> list[Configuration]:
    """The scenario's configurations (its ``nat-type`` probes with ``found``), those in ``only`` when
    given, in the scenario's order."""
    found = []
    for probe in scenario.probes:
        wanted = scenario.expect.get(probe.name, {}).get("found")
        if probe.kind != NatTypeOptions.kind or wanted is None:
            continue
        port = probe.options.port if isinstance(probe.options, NatTypeOptions) else None
        found.append(Configuration(probe.name, probe.client, probe.server, port or STUN_PORT,
                                   Findings.from_found(wanted, f"{scenario.name}: {probe.name}")))
    if not found:
        raise ConfigError(f"scenario {scenario.name} has no {NatTypeOptions.kind} probe with a `found` "
                          "expectation: nothing to compare a classifier with")
    names = [c.name for c in found]
    for name in only:
        if name not in names:
            raise ConfigError(f"--only: no configuration {name!r} in {scenario.name} "
                              f"(configurations: {', '.join(names)}){closest(name, names)}")
    return [c for c in found if not only or c.name in only]


@dataclass(frozen=True)
class Row:
    """What the classifier reported in one configuration, and the verdict."""

    config: Configuration
    command: str
    verdict: Verdict
    reported: Findings | None
    differs: tuple[str, ...] = ()
    parser: str = ""
    detail: str = ""
    exit_code: int | None = None
    seconds: float = 0.0
    stdout: str = field(default="", repr=False)
    stderr: str = field(default="", repr=False)

    def to_dict(self) -> dict[str, Any]:
        """As JSON (``natsim classify --json``)."""
        return {"configuration": self.config.name, "client": self.config.client, "command": self.command,
                "expected": self.config.expected.to_dict(),
                "reported": None if self.reported is None else self.reported.to_dict(),
                "verdict": self.verdict.value, "differs": list(self.differs), "parser": self.parser,
                "detail": self.detail, "exit_code": self.exit_code, "seconds": round(self.seconds, 3),
                "stdout": self.stdout, "stderr": self.stderr}


def judge(config: Configuration, command: str, *, exit_code: int | None, stdout: str, stderr: str,
          parser: str, timeout: float, seconds: float = 0.0) -> Row:
    """The row of one run: ``exit_code`` None when it was stopped after ``timeout`` seconds."""
    verdict, reported, differs, used, detail = _outcome(config, exit_code, stdout, stderr, parser, timeout)
    return Row(config, command, verdict, reported, differs, used, detail, exit_code, seconds, stdout, stderr)


def _outcome(config: Configuration, exit_code: int | None, stdout: str, stderr: str, parser: str,
             timeout: float) -> tuple[Verdict, Findings | None, tuple[str, ...], str, str]:
    """Verdict, what was reported, which findings differ, the parser that read it, a note."""
    if exit_code is None:
        return Verdict.NO_ANSWER, None, (), "", f"still running after {timeout:g} s: stopped"
    parsed = parse(stdout, parser)
    exited = "" if exit_code == 0 else f"exit {exit_code}"
    if parsed.findings is None:
        if exit_code in NOT_RUN:
            last = (stderr or stdout).strip().splitlines()[-1:]
            return Verdict.NO_ANSWER, None, (), "", ": ".join([f"{NOT_RUN[exit_code]} ({exited})", *last])
        return Verdict.UNPARSED, None, (), parsed.parser, "; ".join(d for d in (parsed.reason, exited) if d)
    verdict, differs = compare(config.expected, parsed.findings)
    note = "reported no finding" if verdict is Verdict.NO_ANSWER else ""
    return verdict, parsed.findings, differs, parsed.parser, "; ".join(d for d in (note, exited) if d)
