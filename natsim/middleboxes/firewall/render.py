"""The ruleset of a ``firewall``: the conntrack policy in the forward chain of a router.

Both directions are told by the input interface (``ctx.inside``: the protected side). ``drop`` and
``reset`` are explicit rules for packets conntrack calls invalid or sees as a new connection without a
bare SYN (kernel facts in ``shared/DESIGN.md``); ``pickup`` is Linux's loose tracking, no rule.
"""

from __future__ import annotations

from natsim.errors import ConfigError
from natsim.middleboxes.base import RenderContext, Rendered
from natsim.middleboxes.conntrack.render import SET_TIMEOUT, timeout_object, untracked_rules
from natsim.middleboxes.firewall.config import Firewall


def interfaces(names: tuple[str, ...]) -> str:
    """An nft match on packets that came in on any of ``names``."""
    return "iifname { " + ", ".join(f'"{n}"' for n in names) + " }"


def render(config: Firewall, ctx: RenderContext) -> Rendered:
    """Forwarding, the ``tcp-idle`` timeouts for new connections, the untracked policy per direction."""
    if not ctx.inside or not ctx.outside:
        raise ConfigError(f"{ctx.node}: a firewall needs natsim_inside and natsim_outside interfaces")
    policy = config.policy()
    ct_object, timeouts = timeout_object(policy, ctx.node, ctx.time_scale)
    forward = [
        SET_TIMEOUT,
        *untracked_rules(interfaces(ctx.inside), policy.untracked_outbound, can_reset=True),
        *untracked_rules(interfaces(ctx.outside), policy.untracked_inbound, can_reset=True),
    ]
    nft = (
        "table inet natsim {\n"
        + ct_object
        + "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n"
        + "".join(f"\t\t{rule}\n" for rule in forward)
        + "\t}\n}\n"
    )
    sysctls = {"net.ipv4.ip_forward": "1", "net.netfilter.nf_conntrack_tcp_loose": "1"}
    return Rendered(nft=nft, sysctls=sysctls, timeouts=tuple(timeouts))
