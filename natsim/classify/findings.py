"""What a classifier reports about a NAT, what a configuration is, and whether the two agree (pure).

Values are RFC 4787's terms (:class:`natsim.probes.stun.judges.Behaviour`); a finding a classifier did
not report is None, and is neither an agreement nor a disagreement.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from natsim.errors import ConfigError
from natsim.probes.stun.judges import Behaviour

#: The findings a classifier is compared on, in table order.
NAMES = ("mapping", "filtering", "hairpinning")
#: RFC 4787's short names: EIM, ADM, APDM (mapping), EIF, ADF, APDF (filtering).
SHORT = {Behaviour.ENDPOINT_INDEPENDENT: "EI", Behaviour.ADDRESS_DEPENDENT: "AD",
         Behaviour.ADDRESS_AND_PORT_DEPENDENT: "APD"}


@dataclass(frozen=True)
class Findings:
    """Mapping, filtering and hairpinning; None where it is not known (not reported, or not expected)."""

    mapping: Behaviour | None = None
    filtering: Behaviour | None = None
    hairpinning: bool | None = None

    def values(self) -> dict[str, Behaviour | bool | None]:
        """Finding name → value, in :data:`NAMES` order."""
        return {"mapping": self.mapping, "filtering": self.filtering, "hairpinning": self.hairpinning}

    def any(self) -> bool:
        """Whether anything is known."""
        return any(value is not None for value in self.values().values())

    def to_dict(self) -> dict[str, str | bool | None]:
        """As JSON: the RFC 4787 names, true/false, null."""
        return {k: v.value if isinstance(v, Behaviour) else v for k, v in self.values().items()}

    @classmethod
    def from_found(cls, found: Mapping[str, Any], where: str) -> Findings:
        """From a scenario's ``found`` expectation (``where``: which probe, for the error)."""
        hairpinning = found.get("hairpinning")
        if not isinstance(hairpinning, bool | None):
            raise ConfigError(f"{where}: found: hairpinning must be true or false, got {hairpinning!r}")
        try:
            mapping, filtering = (None if found.get(n) is None else Behaviour(found[n]) for n in NAMES[:2])
        except ValueError as err:
            raise ConfigError(f"{where}: found: {err}") from None
        return cls(mapping, filtering, hairpinning)


def shown(name: str, value: Behaviour | bool | None) -> str:
    """A finding as the table shows it: ``EIM``/``ADF``..., ``yes``/``no``, ``-`` (not known)."""
    if value is None:
        return "-"
    if isinstance(value, Behaviour):
        return SHORT[value] + name[0].upper()
    return "yes" if value else "no"


class Verdict(enum.StrEnum):
    """A configuration's outcome."""

    AGREE = "agree"              # everything reported is what the NAT is
    DISAGREE = "disagree"        # a reported finding is not what the NAT is
    UNPARSED = "unparsed"        # the output was not understood (shown raw, never guessed)
    NO_ANSWER = "no answer"      # the command did not run, did not finish, or reported nothing


def compare(expected: Findings, reported: Findings) -> tuple[Verdict, tuple[str, ...]]:
    """The verdict of a parsed report and the findings that differ (only those both sides know)."""
    if not reported.any():
        return Verdict.NO_ANSWER, ()
    wanted, got = expected.values(), reported.values()
    wrong = tuple(n for n in NAMES if got[n] is not None and wanted[n] is not None and got[n] != wanted[n])
    return (Verdict.DISAGREE if wrong else Verdict.AGREE), wrong
