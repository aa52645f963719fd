"""The simpy model of an ``ssh-proxy``, per login attempt rather than per packet.

An attempt to an intercepted port whose (client, server, port) tuple is not in the bypass set is
intercepted; the proxy negotiates with the backend as an SSH client would (RFC 4253: the first of its
own key exchanges the server also offers). No common key exchange: FIN to the client (EOF) and the
tuple bypassed for a duration drawn uniformly from ``bypass``. TCP probes crossing the node see a router.
"""

from __future__ import annotations

from natsim.middleboxes.ssh_proxy.config import SshProxy
from natsim.sim.network import Action, Forward, Segment
from natsim.sim.trace import Bypassed, Cut, Intercepted, LoginEvent, NotIntercepted
from natsim.units import TimeScale


def negotiate(client_kex: tuple[str, ...], server_kex: tuple[str, ...]) -> str | None:
    """RFC 4253 7.1: the first key exchange of the client's list that the server supports."""
    offered = set(server_kex)
    return next((k for k in client_kex if k in offered), None)


class ProxyRouter:
    """The ``ssh-proxy`` node: routes TCP probes; intercepts SSH logins (:meth:`attempt`)."""

    def __init__(self, name: str, config: SshProxy, seed: int = 0) -> None:
        self.name = name
        self.config = config
        self.draw = config.bypass_draw(seed, name)   # the daemon's draws for the same run
        self.bypass: dict[tuple[str, str, int], float] = {}

    def handle(self, seg: Segment, outbound: bool, now: float) -> Action:
        """Route every segment (bypassed or not, TCP probes carry no SSH banner)."""
        return Forward(seg)

    def attempt(self, client: str, server: str, port: int, backend_kex: tuple[str, ...], now: float,
                conn: str = "") -> tuple[str, str, LoginEvent]:
        """One login: ``(outcome, banner seen by the client, what happened)``; outcome is
        ``direct``, ``bypassed``, ``intercepted`` or ``cut``."""
        at = (now, self.name, conn, client, server, port)
        if not self.config.intercepts(port):
            return "direct", "", NotIntercepted(*at)
        key = (client, server, port)
        until = self.bypass.get(key)
        if until is not None and now < until:
            return "bypassed", "", Bypassed(*at, until=until)
        chosen = negotiate(self.config.kex, backend_kex)
        if chosen is not None:
            return "intercepted", self.config.banner, Intercepted(*at, kex=chosen)
        duration = self.draw()
        self.bypass[key] = now + duration
        return "cut", self.config.banner, Cut(*at, offered=self.config.kex, bypass=duration)


def model(node: str, config: SshProxy, scale: TimeScale, seed: int) -> ProxyRouter:
    """The proxy at ``node``; ``seed`` (with the config's own) seeds the bypass draw."""
    return ProxyRouter(node, config, seed)
