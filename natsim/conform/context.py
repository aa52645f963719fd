"""What the conformance requirement tests share during one battery run: the target, the two agents,
fresh ports, and the discovery of the target's external address.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from natsim.conform.agent_client import Agent
from natsim.conform.target import Target
from natsim.errors import ConfigError
from natsim.lab.capture import node_addresses

#: Longest a single timer measurement may run (lab seconds).
CAP_LAB = 45.0


@dataclass
class Context:
    """What the requirement tests share during one battery run."""

    target: Target
    inside: Agent
    outside: Agent
    ports: itertools.count[int] = field(default_factory=lambda: itertools.count(20000))
    udp_lifetime: tuple[float | None, float | None] | None = None
    external_ip: str | None = None

    @property
    def scale(self) -> float:
        """Real-world seconds per lab second."""
        return self.target.scale

    def tolerance(self, threshold: float) -> float:
        """Timing tolerance in real seconds: 1 % of the threshold or 50 ms of lab time."""
        return max(0.01 * threshold, 0.05 * self.scale)

    def port(self) -> int:
        """A fresh port number."""
        return next(self.ports)


def tcp_pair(ctx: Context, name: str, server_port: int, listener: str,
              host: str | None = None) -> tuple[str, str]:
    """Open a TCP connection inside → outside with one exchange each way; (client local, seen by server)."""
    c = ctx.inside("tcp_connect", name=name, host=host or ctx.target.server_ip, port=server_port)
    if not c["ok"]:
        raise ConfigError(f"cannot connect through {ctx.target.node}: {c['error']}")
    s = ctx.outside("tcp_accept", name=name, listener=listener)
    if not s["ok"]:
        raise ConfigError(f"server did not see the connection: {s['error']}")
    ctx.inside("tcp_send", name=name, data="hello")
    ctx.outside("tcp_recv", name=name, timeout=2.0)
    ctx.outside("tcp_send", name=name, data="hi")
    ctx.inside("tcp_recv", name=name, timeout=2.0)
    return c["local"], s["peer"]


def is_nat(ctx: Context) -> bool:
    """The target itself translates: the server sees one of the target's own addresses."""
    return ctx.external_ip is not None and ctx.external_ip in node_addresses(ctx.target.lab, ctx.target.node)


def discover(ctx: Context) -> None:
    """Learn the external address the server sees (``ctx.external_ip``) with one TCP connection."""
    port = ctx.port()
    ctx.outside("tcp_listen", name="disc-l", port=port)
    _, seen = tcp_pair(ctx, "disc", port, "disc-l")
    ctx.external_ip = seen.rsplit(":", 1)[0]
    for agent in (ctx.inside, ctx.outside):
        agent("close", name="disc")
    ctx.outside("close", name="disc-l")
