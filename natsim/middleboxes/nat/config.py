"""The settings every NAT kind shares: conntrack's policy table, the NAT behaviour record, and where it
translates (:class:`NatSettings`).

A NAT kind's config subclasses :class:`NatConfig`: its settings are the conntrack ones
(:class:`~natsim.middleboxes.conntrack.config.ConntrackConfig`), then the behaviour
(:class:`~natsim.middleboxes.nat.behaviour.NatBehaviour`), then its addresses; it says where it
translates with :meth:`NatConfig.addressing`. The render and the model read ``policy()``,
``behaviour()`` and ``addressing()``, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from natsim.middleboxes.conntrack.config import ConntrackConfig
from natsim.middleboxes.nat.behaviour import NatBehaviour
from natsim.units import format_duration

#: RFC 5382 REQ-5: an established idle timeout of at least 2 h 4 min.
RFC5382_ESTABLISHED = 7440.0
#: RFC 5382 REQ-5: the transitory timeout at least 4 min.
RFC5382_TRANSITORY = 240.0


@dataclass(frozen=True)
class NatSettings:
    """Where a NAT translates (the same values its render writes).

    ``pool``: a prefix (``snat to`` its range, ``persistent``) or None (``masquerade``: the node's
    own address, ``public`` in the model); ``port_range``: None leaves any port (masquerade without a
    range); ``ports_per_subscriber``: the most TCP connections one inside address may hold.
    """

    inside: str
    pool: str | None
    public: str
    port_range: tuple[int, int] | None = None
    ports_per_subscriber: int | None = None


@dataclass(frozen=True)
class NatConfig(NatBehaviour, ConntrackConfig):
    """Base of every NAT kind's config: conntrack's settings, then the behaviour, then the kind's own."""

    def addressing(self, node: str) -> NatSettings:
        """Where the NAT at ``node`` translates (each kind says)."""
        raise NotImplementedError(f"{type(self).__name__} does not say where it translates")

    def validate(self) -> None:
        """The behaviour must be one natsim renders faithfully."""
        self.check(f"{self.kind}.")  # type: ignore[attr-defined]

    def describe(self) -> list[tuple[str, str]]:
        """Its settings in real-world units, then whether they meet RFC 5382 REQ-5 (computed)."""
        return [*super().describe(),
                ("rfc5382_req5", "meets" if self.idle_timeout >= RFC5382_ESTABLISHED else
                 f"violates (< {format_duration(RFC5382_ESTABLISHED)})")]
