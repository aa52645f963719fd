"""The conntrack policy table of a stateful middlebox, per protocol: the idle timeout of each TCP state,
UDP's two timers (a flow that has seen no reply yet, and one that has: the *stream*), and what happens
to a TCP packet of no known connection, per direction.

It is the one place these numbers live: the lab's ruleset (:mod:`.render`) scales the table to whole
kernel seconds (one ``ct timeout`` object per protocol), the model (:mod:`.model`) reads the same table
quantised the same way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from natsim.kernel_facts import CONNTRACK_TCP_TIMEOUTS, CONNTRACK_UDP_TIMEOUTS
from natsim.sim.cttable import ESTABLISHED, UDP_STREAM, UDP_UNREPLIED
from natsim.sim.segment import TCP, UDP
from natsim.units import ScaledTimeout, TimeScale

#: The non-established TCP states natsim's policy sets (Linux's defaults:
#: :data:`~natsim.kernel_facts.CONNTRACK_TCP_TIMEOUTS`); ``retrans`` and ``unacknowledged`` stay at the
#: kernel's values because TCP's own retransmission timers are not scaled either.
TRANSITORY_STATES = ("syn_sent", "syn_recv", "fin_wait", "close_wait", "last_ack", "time_wait", "close")
#: UDP's states as nftables names them (``ct timeout`` policy) → as the model's table names them.
UDP_STATES = {"unreplied": UDP_UNREPLIED, "replied": UDP_STREAM}
#: The protocols a policy table holds, in the order they are rendered.
PROTOCOLS = (TCP, UDP)


class Untracked(enum.StrEnum):
    """What a middlebox does with a TCP packet that belongs to no known connection."""

    DROP = "drop"      # silently discarded (the peer sees ETIMEDOUT)
    PICKUP = "pickup"  # a new entry is created mid-stream (Linux nf_conntrack_tcp_loose=1)
    RESET = "reset"    # answered with a TCP RST (the peer sees ECONNRESET)


@dataclass(frozen=True)
class StateTimeout:
    """The idle timeout of one state of a protocol, in real-world seconds."""

    state: str            # as nftables names it (``established``, ``unreplied``, ...)
    real: float
    setting: str | None   # the config setting it comes from; None: Linux's default for the state

    def scaled(self, node: str, scale: TimeScale) -> ScaledTimeout:
        """Whole kernel seconds at ``scale``; a user-set value must scale within 1 %."""
        name = f"{node}.{self.setting}" if self.setting else f"{node}.{self.state} (kernel default)"
        return scale.kernel_seconds(name, self.real, strict=self.setting is not None)


def _state(state: str, value: float | None, setting: str, default: float) -> StateTimeout:
    """A state's timeout from a setting (None: Linux's ``default``, not the user's)."""
    return StateTimeout(state, value, setting) if value is not None else StateTimeout(state, default, None)


@dataclass(frozen=True)
class ConntrackPolicy:
    """Timeouts per protocol and state, and the untracked policy per direction."""

    tcp: tuple[StateTimeout, ...]
    udp: tuple[StateTimeout, ...]
    untracked_outbound: Untracked
    untracked_inbound: Untracked

    @classmethod
    def build(cls, idle_timeout: float, transitory_timeout: float | None,
              untracked_outbound: Untracked, untracked_inbound: Untracked, *,
              udp_timeout: float | None = None, udp_stream_timeout: float | None = None) -> ConntrackPolicy:
        """The table for an established idle timeout, one timeout for every transitory TCP state and
        UDP's unreplied and stream timers (``None``: Linux's defaults)."""
        tcp = [StateTimeout(ESTABLISHED, idle_timeout, "idle_timeout")]
        tcp += [_state(state, transitory_timeout, "transitory_timeout", CONNTRACK_TCP_TIMEOUTS[state])
                for state in TRANSITORY_STATES]
        udp = (_state("unreplied", udp_timeout, "udp_timeout", CONNTRACK_UDP_TIMEOUTS["unreplied"]),
               _state("replied", udp_stream_timeout, "udp_stream_timeout", CONNTRACK_UDP_TIMEOUTS["stream"]))
        return cls(tuple(tcp), udp, untracked_outbound, untracked_inbound)

    def untracked(self, outbound: bool) -> Untracked:
        """The policy for a packet of no known connection arriving from the inside (``outbound``)."""
        return self.untracked_outbound if outbound else self.untracked_inbound

    @property
    def timeouts(self) -> tuple[StateTimeout, ...]:
        """Every state's timeout, TCP's first."""
        return self.tcp + self.udp

    def of(self, protocol: str) -> tuple[StateTimeout, ...]:
        """The timeouts of ``protocol`` (``tcp`` or ``udp``)."""
        return {TCP: self.tcp, UDP: self.udp}[protocol]

    @property
    def established(self) -> float:
        """The established idle timeout (real-world seconds)."""
        return self.tcp[0].real

    def scaled(self, node: str, scale: TimeScale, protocol: str = TCP) -> list[tuple[str, ScaledTimeout]]:
        """Per state of ``protocol``, the whole kernel seconds the lab sets (what the ruleset renders)."""
        return [(t.state, t.scaled(node, scale)) for t in self.of(protocol)]

    def quantised(self, scale: TimeScale) -> dict[str, dict[str, float]]:
        """Per protocol and state (as the model's table names it), the real-world timeout the lab's
        kernel actually holds (what the model uses)."""
        return {TCP: {t.state: scale.whole(t.real) for t in self.tcp},
                UDP: {UDP_STATES[t.state]: scale.whole(t.real) for t in self.udp}}

    def udp_timer(self, state: str, scale: TimeScale) -> int:
        """Whole kernel seconds of UDP ``state`` (``unreplied`` or ``replied``) at ``scale``."""
        return next(t.scaled("", scale).lab for t in self.udp if t.state == state)
