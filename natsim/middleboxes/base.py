"""What every middlebox shares: the render context, the render result, the config contract.

A middlebox config is a frozen dataclass whose fields are declared with :mod:`natsim.fields`
its kind's pure ``render(config, ctx)`` returns nftables
text, per-namespace sysctls and in-namespace setup commands. See ``docs/middleboxes.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from natsim.units import ScaledTimeout, TimeScale


@dataclass(frozen=True)
class RenderContext:
    """Where a middlebox is placed: its node and which interfaces face which side."""

    node: str
    inside: tuple[str, ...]
    outside: tuple[str, ...]
    time_scale: TimeScale = TimeScale(1.0)


@dataclass(frozen=True)
class Rendered:
    """The kernel state of one middlebox, as data. Applied atomically inside its namespace."""

    nft: str
    sysctls: Mapping[str, str] = field(default_factory=dict)
    commands: tuple[tuple[str, ...], ...] = ()
    timeouts: tuple[ScaledTimeout, ...] = ()
    notes: tuple[str, ...] = ()


class Middlebox(Protocol):
    """The contract of a middlebox config (see ``docs/middleboxes.md``)."""

    kind: ClassVar[str]

    def describe(self) -> list[tuple[str, str]]:
        """(setting, real-world value) pairs for maps and reports."""
        ...
