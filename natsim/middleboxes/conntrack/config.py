"""The conntrack settings every stateful middlebox shares (its policy table: :mod:`.policy`)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from natsim.fields import Validated, choice_field, duration_field
from natsim.middleboxes.conntrack.policy import ConntrackPolicy, Untracked
from natsim.units import format_duration


@dataclass(frozen=True)
class ConntrackConfig(Validated):
    """Connection-tracking knobs every stateful middlebox has (all durations real-world)."""

    idle_timeout: float = duration_field(3600.0, "idle timeout of an established TCP connection")
    transitory_timeout: float | None = duration_field(
        None, "timeout of every non-established TCP state (default: Linux's per-state values)",
        optional=True)
    untracked_outbound: Untracked = choice_field(
        Untracked.DROP, "packet of no known connection arriving from the inside", Untracked)
    untracked_inbound: Untracked = choice_field(
        Untracked.DROP, "packet of no known connection arriving from the outside", Untracked)

    def validate(self) -> None:
        """Raise :class:`ConfigError` for settings that make no sense together."""

    def conntrack_settings(self) -> list[tuple[str, str]]:
        """(name, real-world value) of the conntrack knobs, for maps and reports."""
        rows = [("idle_timeout", format_duration(self.idle_timeout)),
                ("transitory_timeout", format_duration(self.transitory_timeout)
                 if self.transitory_timeout else "kernel defaults"),
                ("untracked_outbound", self.untracked_outbound.value),
                ("untracked_inbound", self.untracked_inbound.value)]
        return rows

    def policy(self) -> ConntrackPolicy:
        """The policy table the lab's ruleset and the model both read."""
        return ConntrackPolicy.build(self.idle_timeout, self.transitory_timeout,
                                     self.untracked_outbound, self.untracked_inbound)


def conntrack_field_names() -> list[str]:
    """Names of the shared conntrack settings."""
    return [f.name for f in fields(ConntrackConfig)]
