"""The simpy model of an ``ssh-proxy``, per login attempt rather than per packet.

An attempt to an intercepted port whose (client, server, port) tuple is not in the bypass set is
intercepted; the proxy negotiates with the backend as an SSH client would (RFC 4253: the first of its
own key exchanges the server also offers). No common key exchange: FIN to the client (EOF) and the
tuple bypassed for a duration drawn uniformly from ``bypass``. TCP probes crossing the node see a router.
It takes part in SSH logins as an :class:`~natsim.middleboxes.abilities.SshInterceptor`.
"""

from __future__ import annotations

from natsim.middleboxes.abilities import Interception, SshInterceptor, negotiate
from natsim.middleboxes.ssh_proxy.config import SshProxy
from natsim.sim.network import Action, Forward, Segment
from natsim.sim.trace import Bypassed, Cut, Intercepted, NotIntercepted
from natsim.units import TimeScale


class ProxyRouter(SshInterceptor):
    """The ``ssh-proxy`` node: routes TCP probes; intercepts SSH logins (:meth:`attempt`)."""

    def __init__(self, name: str, config: SshProxy, seed: int = 0) -> None:
        self.name = name
        self.config = config
        self.draw = config.bypass_draw(seed, name)   # the daemon's draws for the same run
        self.bypass: dict[tuple[str, str, int], float] = {}

    @property
    def identity(self) -> str:
        """The banner clients see."""
        return self.config.banner

    def handle(self, seg: Segment, outbound: bool, now: float) -> Action:
        """Route every segment (bypassed or not, TCP probes carry no SSH banner)."""
        return Forward(seg)

    def _bypassed(self, client: str, server: str, port: int, now: float) -> float | None:
        """When the tuple leaves the bypass set, or None when it is not there."""
        until = self.bypass.get((client, server, port))
        return until if until is not None and now < until else None

    def attempt(self, client: str, server: str, port: int, backend_kex: tuple[str, ...],
                now: float, conn: str = "") -> Interception:
        """One login: intercepted, cut (and the tuple bypassed), bypassed or not intercepted."""
        at = (now, self.name, conn, client, server, port)
        if not self.config.intercepts(port):
            return Interception("direct", "", NotIntercepted(*at))
        until = self._bypassed(client, server, port, now)
        if until is not None:
            return Interception("bypassed", "", Bypassed(*at, until=until))
        chosen = negotiate(self.config.kex, backend_kex)
        if chosen is not None:
            return Interception("intercepted", self.config.banner, Intercepted(*at, kex=chosen))
        duration = self.draw()
        self.bypass[(client, server, port)] = now + duration
        return Interception("cut", self.config.banner, Cut(*at, offered=self.config.kex, bypass=duration))

    def shown(self, client: str, server: str, port: int, now: float) -> tuple[str, tuple[str, ...]] | None:
        """Its banner and the key exchanges it offers (assumed: the proxy shows clients the list it
        offers backends), unless the port is not intercepted or the tuple is bypassed."""
        if not self.config.intercepts(port) or self._bypassed(client, server, port, now) is not None:
            return None
        return self.config.banner, self.config.kex


def model(node: str, config: SshProxy, scale: TimeScale, seed: int) -> ProxyRouter:
    """The proxy at ``node``; ``seed`` (with the config's own) seeds the bypass draw."""
    return ProxyRouter(node, config, seed)
