"""Options of the ``hole-punch`` probe (pure): the only declaration of them (scenario files, ``natsim probe
hole-punch`` flags, the lab driver's command line, the model)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from natsim.errors import ConfigError
from natsim.fields import duration_field, plain_field
from natsim.probes.options import ProbeOptions
from natsim.units import format_duration

#: Most punches one peer sends to one endpoint in a run.
MAX_PUNCHES = 400


@dataclass(frozen=True)
class HolePunchOptions(ProbeOptions):
    """hole-punch: two peers meet at a rendezvous and punch UDP towards each other's public endpoint."""

    kind: ClassVar[str] = "hole-punch"

    peer: str = plain_field("", "the other peer's node (in a scenario the probe's client is one peer and "
                            "its server the rendezvous)", "node", cli=None)
    duration: float = duration_field(5.0, "how long each peer punches at most, once the rendezvous paired "
                                     "them")
    interval: float = duration_field(0.25, "time between two punches to the same endpoint")
    port: int | None = plain_field(None, "the rendezvous's port (default: the kind's service)", "int",
                                   optional=True, minimum=1, maximum=65535)

    def validate(self) -> None:
        """At most :data:`MAX_PUNCHES` punches per endpoint."""
        for name in ("duration", "interval"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ConfigError(f"{name}: must be a positive duration, got {value}")
        if self.duration / self.interval > MAX_PUNCHES:
            raise ConfigError(f"{format_duration(self.duration)} of punches every "
                              f"{format_duration(self.interval)} is more than {MAX_PUNCHES}: take a longer "
                              "interval")
