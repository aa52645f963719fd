"""What every middlebox shares: the render context, the render result, the config contract.

A middlebox config is a frozen dataclass whose fields are declared with :mod:`natsim.fields`
its kind's pure ``render(config, ctx)`` returns nftables
text, per-namespace sysctls and in-namespace setup commands. See ``docs/middleboxes.md``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from natsim.errors import ConfigError
from natsim.units import ScaledTimeout, TimeScale

#: What an interface name may be (Linux: at most 15 bytes, no '/', ':' or white space; natsim's
#: topologies name them NODE-ethN). Renders quote them inside nftables text, so no quote may pass.
IFACE_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,15}")


@dataclass(frozen=True)
class RenderContext:
    """Where a middlebox is placed: its node and which interfaces face which side."""

    node: str
    inside: tuple[str, ...]
    outside: tuple[str, ...]
    time_scale: TimeScale = TimeScale(1.0)

    def __post_init__(self) -> None:
        for name in (*self.inside, *self.outside):
            if not IFACE_NAME.fullmatch(name):
                raise ConfigError(f"{self.node}: interface name {name!r} is not a Linux interface name "
                                  f"({IFACE_NAME.pattern})")


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
