"""The settings of a ``cpe-bridge``: the shared conntrack knobs; a bridge cannot answer with RST."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from natsim.errors import ConfigError
from natsim.middleboxes.conntrack.config import ConntrackConfig
from natsim.middleboxes.conntrack.policy import Untracked


@dataclass(frozen=True)
class CpeBridge(ConntrackConfig):
    """Transparent bridge with connection tracking (defaults: the incident's modem)."""

    kind: ClassVar[str] = "cpe-bridge"

    def validate(self) -> None:
        """A bridge without an address cannot answer with RST."""
        for name in ("untracked_outbound", "untracked_inbound"):
            if getattr(self, name) is Untracked.RESET:
                raise ConfigError(f"cpe-bridge: {name}=reset is not possible on a bridge with no "
                                  "IP address on the data path; use drop or pickup")

    def describe(self) -> list[tuple[str, str]]:
        """Its mode, then its settings in real-world units."""
        return [("mode", "transparent bridge, conntrack on"), *super().describe()]
