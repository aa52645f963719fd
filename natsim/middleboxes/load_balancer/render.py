"""The ruleset of a ``load-balancer``: destination NAT from its virtual IP to its backends in turn, and
its conntrack policy.

- **Balancing.** A bare SYN arriving on the inside for one of the node's own addresses (the virtual IP)
  and a listened port is sent to the next backend: ``dnat ip to numgen inc mod N map {...}`` (round
  robin, the order of ``backends``). The destination port is kept; the backend sees the client's
  address (its route back goes through the load balancer).
- **Expired flows.** A packet of no known flow that is not a bare SYN is not balanced: from the
  inside it reaches the node's own stack (the input chain), from a backend it is forwarded (the
  forward chain). Both chains give it the policy of ``expired``: dropped, or answered with RST
  (``reject with tcp reset``: towards the client from the virtual IP, towards a backend from the
  client's address). ``reset-both-at-expiry`` drops them too: its RSTs are sent at expiry by the
  reset daemon (:mod:`.runtime`), which reads the same timeout this ruleset sets.
"""

from __future__ import annotations

from natsim.errors import ConfigError
from natsim.middleboxes.base import RenderContext, Rendered
from natsim.middleboxes.conntrack.render import SET_TIMEOUT, timeout_object, untracked_rules
from natsim.middleboxes.load_balancer.config import LoadBalancer

#: The first packet of a new TCP connection.
BARE_SYN = "tcp flags & (fin|syn|rst|ack) == syn"


def interfaces(names: tuple[str, ...]) -> str:
    """An nft match on packets that came in on any of ``names``."""
    return "iifname { " + ", ".join(f'"{n}"' for n in names) + " }"


def balance_rule(config: LoadBalancer, inside: str) -> str:
    """The prerouting rule that sends a new connection to the virtual IP to the next backend."""
    ports = f"tcp dport {{ {', '.join(map(str, config.ports))} }} " if config.ports else ""
    targets = ", ".join(f"{i} : {address}" for i, address in enumerate(config.backends))
    return (f"{inside} fib daddr type local meta l4proto tcp {ports}{BARE_SYN} "
            f"dnat ip to numgen inc mod {len(config.backends)} map {{ {targets} }}")


def render(config: LoadBalancer, ctx: RenderContext) -> Rendered:
    """The balancing rule, the ``tcp-idle`` timeouts and the expired-flow policy both ways."""
    if not ctx.inside or not ctx.outside:
        raise ConfigError(f"{ctx.node}: a load-balancer needs natsim_inside (the clients' side, where "
                          "its virtual IP is) and natsim_outside (the backends' side) interfaces")
    policy = config.policy()
    ct_object, timeouts = timeout_object(policy, ctx.node, ctx.time_scale)
    inside, outside = interfaces(ctx.inside), interfaces(ctx.outside)
    forward = [SET_TIMEOUT,
               *untracked_rules(inside, policy.untracked_outbound, can_reset=True),
               *untracked_rules(outside, policy.untracked_inbound, can_reset=True)]
    local = untracked_rules(inside, policy.untracked_outbound, can_reset=True)
    nft = (
        "table inet natsim {\n"
        + ct_object
        + "\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
        + f"\t\t{balance_rule(config, inside)}\n"
        + "\t}\n"
        + "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n"
        + "".join(f"\t\t{rule}\n" for rule in forward)
        + "\t}\n"
        + "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n"
        + "".join(f"\t\t{rule}\n" for rule in local)
        + "\t}\n}\n"
    )
    sysctls = {"net.ipv4.ip_forward": "1", "net.netfilter.nf_conntrack_tcp_loose": "1"}
    balancing = " -> ".join(config.backends)
    return Rendered(nft=nft, sysctls=sysctls, timeouts=tuple(timeouts),
                    notes=(f"backends in turn: {balancing}; expired flows: {config.expired.value}",))
