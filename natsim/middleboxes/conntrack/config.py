"""The conntrack settings every stateful middlebox shares (its policy table: :mod:`.policy`)."""

from __future__ import annotations

from dataclasses import dataclass

from natsim.fields import choice_field, duration_field
from natsim.middleboxes.base import DeviceConfig
from natsim.middleboxes.conntrack.policy import ConntrackPolicy, Untracked


@dataclass(frozen=True)
class ConntrackConfig(DeviceConfig):
    """Connection-tracking knobs every stateful middlebox has (all durations real-world)."""

    idle_timeout: float = duration_field(3600.0, "idle timeout of an established TCP connection")
    transitory_timeout: float | None = duration_field(
        None, "timeout of every non-established TCP state (default: Linux's per-state values)",
        optional=True, unset="kernel defaults")
    untracked_outbound: Untracked = choice_field(
        Untracked.DROP, "packet of no known connection arriving from the inside", Untracked)
    untracked_inbound: Untracked = choice_field(
        Untracked.DROP, "packet of no known connection arriving from the outside", Untracked)

    def policy(self) -> ConntrackPolicy:
        """The policy table the lab's ruleset and the model both read."""
        return ConntrackPolicy.build(self.idle_timeout, self.transitory_timeout,
                                     self.untracked_outbound, self.untracked_inbound)

