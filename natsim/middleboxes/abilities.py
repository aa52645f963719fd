"""What a middlebox's simpy model can do besides handling segments: optional abilities, declared.

A model declares an ability by subclassing its protocol (``class ProxyRouter(SshInterceptor)``); a
probe's model asks for it with ``isinstance(model, SshInterceptor)``, never for a concrete class, so a
plugin's middlebox takes part exactly as natsim's own do. (A model that forgets idle connections
declares :class:`natsim.sim.network.ConnectionTracker`, which the engine itself reads.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from natsim.sim.trace import LoginEvent


def negotiate(client_kex: tuple[str, ...], server_kex: tuple[str, ...]) -> str | None:
    """RFC 4253 7.1: the first key exchange of the client's list that the server supports."""
    offered = set(server_kex)
    return next((k for k in client_kex if k in offered), None)


@dataclass(frozen=True)
class Interception:
    """What an L7 SSH interceptor did with one login attempt.

    ``outcome``: ``direct`` (not intercepted), ``bypassed`` (let through unproxied), ``intercepted``
    (the interceptor speaks for the server) or ``cut`` (it gave up: FIN to the client). ``banner``: the
    identification line the client saw from the interceptor (empty when it did not answer itself).
    ``event``: what happened, for the trace (:mod:`natsim.sim.trace`; worded by ``explain.login``).
    """

    outcome: str
    banner: str
    event: LoginEvent


@runtime_checkable
class SshInterceptor(Protocol):
    """A model that takes part in SSH logins on its path (an L7 proxy), as the SSH probes' models see it."""

    name: str

    def attempt(self, client: str, server: str, port: int, backend_kex: tuple[str, ...],
                now: float, conn: str = "") -> Interception:
        """One login from ``client`` to ``server``:``port``, whose SSH server offers ``backend_kex``
        (``conn``: the attempt's name in the trace)."""
        ...

    def shown(self, client: str, server: str, port: int, now: float) -> tuple[str, tuple[str, ...]] | None:
        """The banner and key exchanges a client that only looks (no login) is shown now, or None when
        the interceptor lets the connection through to the server. Changes nothing."""
        ...

    @property
    def identity(self) -> str:
        """How the interceptor identifies itself to clients (its banner)."""
        ...
