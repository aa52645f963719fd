"""Options of the ``nat-type`` probe (pure): the only declaration of them (scenario files, ``natsim probe
nat-type`` flags, the lab driver's command line)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from natsim.errors import ConfigError
from natsim.fields import duration_field, plain_field
from natsim.probes.options import ProbeOptions
from natsim.units import format_duration

#: The quick RFC 5780 tests (4.3, 4.4, 4.5); the binding lifetime (4.6) runs when ``lifetime_max`` is set.
TESTS = ("mapping", "filtering", "hairpinning")
#: Most binding-lifetime waits one run tests (one socket pair each).
MAX_RUNGS = 60


@dataclass(frozen=True)
class NatTypeOptions(ProbeOptions):
    """nat-type: RFC 5780 NAT behaviour discovery against a STUN server (``natsim serve --stun``)."""

    kind: ClassVar[str] = "nat-type"

    tests: tuple[str, ...] = plain_field(
        TESTS, "RFC 5780 tests to run (on the command line one --test each): mapping, filtering, "
        "hairpinning", "str-list", cli="--test",
        cli_action="append")
    lifetime_max: float | None = duration_field(
        None, "longest binding lifetime to test (RFC 5780 4.6; none: no lifetime test)", optional=True)
    lifetime_min: float | None = duration_field(
        None, "shortest binding lifetime to test (default: the step)", optional=True)
    lifetime_step: float = duration_field(30.0, "binding lifetime added per wait, from the shortest to "
                                          "the longest")
    padding: bool = plain_field(False, "pad the requests to 1500 bytes (RFC 5780 PADDING: "
                                "fragmentation on the path)", "bool")
    port: int | None = plain_field(None, "the STUN server's port (default: the kind's service)", "int",
                                   optional=True, minimum=1, maximum=65535)

    def validate(self) -> None:
        """Known test names; a lifetime ladder of at most :data:`MAX_RUNGS` waits."""
        for name in self.tests:
            if name not in TESTS:
                raise ConfigError(f"tests: {name!r} is not one of {', '.join(TESTS)}")
        if self.lifetime_max is not None:
            self.lifetimes()

    def lifetimes(self) -> tuple[float, ...]:
        """The binding-lifetime waits: shortest, shortest + step, ... up to the longest (real-world
        seconds); empty without ``lifetime_max``."""
        if self.lifetime_max is None:
            return ()
        first = self.lifetime_step if self.lifetime_min is None else self.lifetime_min
        if self.lifetime_step <= 0 or not math.isfinite(self.lifetime_step):
            raise ConfigError(f"lifetime_step: must be a positive duration, got {self.lifetime_step}")
        if first > self.lifetime_max:
            raise ConfigError(f"lifetime_min ({format_duration(first)}) is above lifetime_max "
                              f"({format_duration(self.lifetime_max)})")
        count = math.floor((self.lifetime_max - first) / self.lifetime_step + 1e-9) + 1
        if count > MAX_RUNGS:
            raise ConfigError(f"lifetime: {count} waits from {format_duration(first)} to "
                              f"{format_duration(self.lifetime_max)} by {format_duration(self.lifetime_step)}"
                              f"; at most {MAX_RUNGS} (take a longer lifetime_step)")
        waits = [first + i * self.lifetime_step for i in range(count)]
        if waits[-1] < self.lifetime_max:
            waits.append(self.lifetime_max)
        return tuple(waits)
