"""nftables rendering of a conntrack policy (shared by every stateful middlebox).

Kernel facts this follows (``shared/DESIGN.md``): ``ct timeout set`` must run after conntrack
(here: the forward chain at filter priority), and then also gives the new entry's first packet the
policy's first state (``syn_sent``, UDP's ``unreplied``); a timeout alone does not kill a connection
while ``nf_conntrack_tcp_loose=1``, so ``drop`` needs explicit rules for invalid packets and for "new"
TCP packets that are not a bare SYN.
"""

from __future__ import annotations

from natsim.errors import ConfigError
from natsim.middleboxes.conntrack.policy import PROTOCOLS, ConntrackPolicy, Untracked
from natsim.units import ScaledTimeout, TimeScale

#: A TCP packet that conntrack saw as "new" but that is not a bare SYN: a mid-stream packet.
MIDSTREAM = "ct state new tcp flags & (fin|syn|rst|ack) != syn"
#: The ``ct timeout`` object of each protocol.
TIMEOUT_OBJECTS = {protocol: f"{protocol}-idle" for protocol in PROTOCOLS}
#: The rule that gives every new TCP connection and UDP flow its protocol's policy.
SET_TIMEOUT = ("ct state new ct timeout set meta l4proto map { "
               + ", ".join(f'{p} : "{name}"' for p, name in TIMEOUT_OBJECTS.items()) + " }")


def render_ct_timeout(name: str, timeouts: list[tuple[str, ScaledTimeout]], protocol: str = "tcp") -> str:
    """An nftables ``ct timeout`` object for ``protocol`` (whole seconds per state)."""
    policy = ", ".join(f"{state}: {t.lab}" for state, t in timeouts)
    return (f"\tct timeout {name} {{\n\t\tprotocol {protocol};\n\t\tl3proto ip;\n"
            f"\t\tpolicy = {{ {policy} }}\n\t}}\n")


def timeout_object(policy: ConntrackPolicy, node: str, scale: TimeScale) -> tuple[str, list[ScaledTimeout]]:
    """The timeout objects of ``policy`` at ``scale`` (``tcp-idle``, ``udp-idle``: what
    :data:`SET_TIMEOUT` attaches) and the scaled timeouts they hold."""
    text, held = "", []
    for protocol, name in TIMEOUT_OBJECTS.items():
        timeouts = policy.scaled(node, scale, protocol)
        text += render_ct_timeout(name, timeouts, protocol)
        held += [t for _, t in timeouts]
    return text, held


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
