"""The conntrack policy shared by every stateful middlebox, and its nftables rendering.

Kernel facts this follows (``shared/DESIGN.md``): ``ct timeout set`` must run after conntrack
(here: the forward chain at filter priority); a timeout alone does not kill a connection while
``nf_conntrack_tcp_loose=1``, so ``drop`` needs explicit rules for invalid packets and for "new"
TCP packets that are not a bare SYN.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from natsim.errors import ConfigError
from natsim.middleboxes.base import Untracked, choice_field, duration_field
from natsim.units import ScaledTimeout, TimeScale, format_duration

#: Linux defaults (seconds) for the TCP states natsim scales; ``retrans`` and ``unacknowledged``
#: stay at the kernel's 300 s because TCP's own retransmission timers are not scaled either.
KERNEL_TCP_TIMEOUTS = {
    "syn_sent": 120, "syn_recv": 60, "fin_wait": 120, "close_wait": 60,
    "last_ack": 30, "time_wait": 120, "close": 10,
}
TRANSITORY_STATES = tuple(KERNEL_TCP_TIMEOUTS)

#: A TCP packet that conntrack saw as "new" but that is not a bare SYN: a mid-stream packet.
MIDSTREAM = "ct state new tcp flags & (fin|syn|rst|ack) != syn"


@dataclass(frozen=True)
class ConntrackConfig:
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

    def scaled_timeouts(self, node: str, scale: TimeScale) -> list[tuple[str, ScaledTimeout]]:
        """Per-state kernel timeouts in lab seconds; user-set values must scale within 1 %."""
        result = [("established", scale.kernel_seconds(f"{node}.idle_timeout", self.idle_timeout))]
        for state, default in KERNEL_TCP_TIMEOUTS.items():
            if self.transitory_timeout is not None:
                scaled = scale.kernel_seconds(f"{node}.transitory_timeout", self.transitory_timeout)
            else:
                scaled = scale.kernel_seconds(f"{node}.{state} (kernel default)", default, strict=False)
            result.append((state, scaled))
        return result


def conntrack_field_names() -> list[str]:
    """Names of the shared conntrack settings."""
    return [f.name for f in fields(ConntrackConfig)]


def render_ct_timeout(name: str, timeouts: list[tuple[str, ScaledTimeout]]) -> str:
    """An nftables ``ct timeout`` object (whole seconds per state)."""
    policy = ", ".join(f"{state}: {t.lab}" for state, t in timeouts)
    return (f"\tct timeout {name} {{\n\t\tprotocol tcp;\n\t\tl3proto ip;\n"
            f"\t\tpolicy = {{ {policy} }}\n\t}}\n")


def untracked_rules(match: str, policy: Untracked, *, can_reset: bool,
                    translates: bool = False) -> list[str]:
    """Forward-chain rules for untracked TCP packets matched by ``match`` (a direction match).

    ``pickup`` needs no rule for what conntrack can pick up (``nf_conntrack_tcp_loose=1``: an ACK or
    data segment creates an entry). A lone FIN or RST cannot be picked up: conntrack calls it invalid,
    and a NAT (``translates``) would forward it untranslated, leaking the inside address, so a NAT
    drops invalid packets even with ``pickup``.
    """
    if policy is Untracked.PICKUP:
        return [f"{match} meta l4proto tcp ct state invalid drop"] if translates else []
    if policy is Untracked.RESET and not can_reset:
        raise ConfigError("'reset' needs a middlebox with an IP address on the data path")
    verdict = "drop" if policy is Untracked.DROP else "reject with tcp reset"
    return [f"{match} meta l4proto tcp ct state invalid {verdict}",
            f"{match} {MIDSTREAM} {verdict}"]
