"""nftables rendering of a conntrack policy (shared by every stateful middlebox).

Kernel facts this follows (``shared/DESIGN.md``): ``ct timeout set`` must run after conntrack
(here: the forward chain at filter priority); a timeout alone does not kill a connection while
``nf_conntrack_tcp_loose=1``, so ``drop`` needs explicit rules for invalid packets and for "new"
TCP packets that are not a bare SYN.
"""

from __future__ import annotations

from natsim.errors import ConfigError
from natsim.middleboxes.conntrack.policy import ConntrackPolicy, Untracked
from natsim.units import ScaledTimeout, TimeScale

#: A TCP packet that conntrack saw as "new" but that is not a bare SYN: a mid-stream packet.
MIDSTREAM = "ct state new tcp flags & (fin|syn|rst|ack) != syn"
#: The rule that gives every new TCP connection the policy's timeouts.
SET_TIMEOUT = "meta l4proto tcp ct state new ct timeout set \"tcp-idle\""


def render_ct_timeout(name: str, timeouts: list[tuple[str, ScaledTimeout]]) -> str:
    """An nftables ``ct timeout`` object (whole seconds per state)."""
    policy = ", ".join(f"{state}: {t.lab}" for state, t in timeouts)
    return (f"\tct timeout {name} {{\n\t\tprotocol tcp;\n\t\tl3proto ip;\n"
            f"\t\tpolicy = {{ {policy} }}\n\t}}\n")


def timeout_object(policy: ConntrackPolicy, node: str, scale: TimeScale) -> tuple[str, list[ScaledTimeout]]:
    """The ``tcp-idle`` timeout object of ``policy`` at ``scale`` and the scaled timeouts it holds."""
    timeouts = policy.scaled(node, scale)
    return render_ct_timeout("tcp-idle", timeouts), [t for _, t in timeouts]


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
