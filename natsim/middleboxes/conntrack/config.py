"""The conntrack settings every stateful middlebox shares (its policy table: :mod:`.policy`)."""

from __future__ import annotations

from dataclasses import dataclass

from natsim.fields import choice_field, duration_field
from natsim.kernel_facts import CONNTRACK_UDP_TIMEOUTS
from natsim.middleboxes.base import DeviceConfig
from natsim.middleboxes.conntrack.policy import ConntrackPolicy, Untracked
from natsim.units import format_duration


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
    udp_timeout: float | None = duration_field(
        None, "idle timeout of a UDP flow that has seen no reply, or whose reply came within its first "
        "2 s (Linux nf_conntrack_udp_timeout)", optional=True,
        unset=f"Linux's {format_duration(CONNTRACK_UDP_TIMEOUTS['unreplied'])}")
    udp_stream_timeout: float | None = duration_field(
        None, "idle timeout of a UDP flow that has seen a reply and lived 2 s: a stream (Linux "
        "nf_conntrack_udp_timeout_stream)", optional=True,
        unset=f"Linux's {format_duration(CONNTRACK_UDP_TIMEOUTS['stream'])}")

    def policy(self) -> ConntrackPolicy:
        """The policy table the lab's ruleset and the model both read."""
        return ConntrackPolicy.build(self.idle_timeout, self.transitory_timeout,
                                     self.untracked_outbound, self.untracked_inbound,
                                     udp_timeout=self.udp_timeout, udp_stream_timeout=self.udp_stream_timeout)

