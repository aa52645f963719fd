"""The conntrack policy table of a stateful middlebox: idle timeout per TCP state and what happens to
a packet of no known connection, per direction.

It is the one place these numbers live: the lab's ruleset (:mod:`.render`) scales the table to whole
kernel seconds, the model (:mod:`.model`) reads the same table quantised the same way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from natsim.kernel_facts import CONNTRACK_TCP_TIMEOUTS
from natsim.sim.cttable import ESTABLISHED
from natsim.units import ScaledTimeout, TimeScale

#: The non-established TCP states natsim's policy sets (Linux's defaults:
#: :data:`~natsim.kernel_facts.CONNTRACK_TCP_TIMEOUTS`); ``retrans`` and ``unacknowledged`` stay at the
#: kernel's values because TCP's own retransmission timers are not scaled either.
TRANSITORY_STATES = ("syn_sent", "syn_recv", "fin_wait", "close_wait", "last_ack", "time_wait", "close")


class Untracked(enum.StrEnum):
    """What a middlebox does with a TCP packet that belongs to no known connection."""

    DROP = "drop"      # silently discarded (the peer sees ETIMEDOUT)
    PICKUP = "pickup"  # a new entry is created mid-stream (Linux nf_conntrack_tcp_loose=1)
    RESET = "reset"    # answered with a TCP RST (the peer sees ECONNRESET)


@dataclass(frozen=True)
class StateTimeout:
    """The idle timeout of one TCP state, in real-world seconds."""

    state: str
    real: float
    setting: str | None   # the config setting it comes from; None: Linux's default for the state

    def scaled(self, node: str, scale: TimeScale) -> ScaledTimeout:
        """Whole kernel seconds at ``scale``; a user-set value must scale within 1 %."""
        name = f"{node}.{self.setting}" if self.setting else f"{node}.{self.state} (kernel default)"
        return scale.kernel_seconds(name, self.real, strict=self.setting is not None)


@dataclass(frozen=True)
class ConntrackPolicy:
    """Timeouts per state and the untracked policy per direction."""

    timeouts: tuple[StateTimeout, ...]
    untracked_outbound: Untracked
    untracked_inbound: Untracked

    @classmethod
    def build(cls, idle_timeout: float, transitory_timeout: float | None,
              untracked_outbound: Untracked, untracked_inbound: Untracked) -> ConntrackPolicy:
        """The table for an established idle timeout and one timeout for every transitory state
        (``None``: Linux's per-state defaults)."""
        timeouts = [StateTimeout(ESTABLISHED, idle_timeout, "idle_timeout")]
        for state in TRANSITORY_STATES:
            if transitory_timeout is not None:
                timeouts.append(StateTimeout(state, transitory_timeout, "transitory_timeout"))
            else:
                timeouts.append(StateTimeout(state, CONNTRACK_TCP_TIMEOUTS[state], None))
        return cls(tuple(timeouts), untracked_outbound, untracked_inbound)

    def untracked(self, outbound: bool) -> Untracked:
        """The policy for a packet of no known connection arriving from the inside (``outbound``)."""
        return self.untracked_outbound if outbound else self.untracked_inbound

    @property
    def established(self) -> float:
        """The established idle timeout (real-world seconds)."""
        return self.timeouts[0].real

    def scaled(self, node: str, scale: TimeScale) -> list[tuple[str, ScaledTimeout]]:
        """Per state, the whole kernel seconds the lab sets (what the ruleset renders)."""
        return [(t.state, t.scaled(node, scale)) for t in self.timeouts]

    def quantised(self, scale: TimeScale) -> dict[str, float]:
        """Per state, the real-world timeout the lab's kernel actually holds (what the model uses)."""
        return {t.state: scale.whole(t.real) for t in self.timeouts}
