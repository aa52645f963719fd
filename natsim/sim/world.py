"""The simulated network of one scenario: hosts, middlebox models in path order, routes, servers."""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any

import simpy

from natsim.endpoint import DEFAULT as DEFAULT_ENDPOINT
from natsim.endpoint import Endpoint
from natsim.sim.network import (
    Addressed,
    ConnectionTracker,
    DatagramTracker,
    Host,
    MiddleboxModel,
    Route,
    Segment,
    Timed,
    Trace,
)
from natsim.sim.tcp_endpoint import Socket, TcpError
from natsim.sim.timers import TcpSettings
from natsim.sim.trace import Event
from natsim.sim.udp_endpoint import Handler, UdpSocket
from natsim.units import TimeScale

App = Callable[[Socket], Generator[simpy.Event, Any, None]]

#: First ephemeral port handed to client sockets (deterministic, unlike a real kernel).
EPHEMERAL_BASE = 40000


class World:
    """Everything one simulation run shares: clock, trace, middleboxes, hosts and servers.

    :param models: node name → middlebox model (built by the caller from the middlebox registry: the
        engine knows no kind).
    :param chain: node names along the client→server path; middlebox nodes are taken in this order.
    :param path: optional ``(client, server) → node names`` (the scenario's ``path_between``); when
        given, a route crosses exactly the middleboxes on that path, in its order.
    :param addresses: node name → its IPv4 address (the topology's); a host without one is addressed
        by its name. NAT models need the real addresses (which prefix a source is in, its pool address).
    :param labels: node name → how its host is named in the trace, when not by the node's name (the
        host standing for a load balancer's backends).
    """

    def __init__(self, models: Mapping[str, MiddleboxModel], chain: Sequence[str], timing: TimeScale,
                 *, seed: int = 0, packets: bool = False,
                 path: Callable[[str, str], Sequence[str]] | None = None,
                 addresses: Mapping[str, str] | None = None, labels: Mapping[str, str] | None = None,
                 endpoints: Mapping[str, Endpoint] | None = None) -> None:
        self.env = simpy.Environment()
        self.trace = Trace(packets=packets)
        self.timing = timing
        self.rng = random.Random(seed)
        order = [n for n in chain if n in models] + [n for n in models if n not in chain]
        self.models: dict[str, MiddleboxModel] = {n: models[n] for n in order}
        self.hosts: dict[str, Host] = {}
        self._routes: dict[tuple[str, str], Route] = {}
        self._ports: dict[str, int] = {}
        self._path = path
        self.addresses = dict(addresses or {})
        self.labels = dict(labels or {})
        self.endpoints = dict(endpoints or {})
        self._conn_routes: dict[str, Route] = {}
        self._abilities: dict[tuple[Route, Any], list[Any]] = {}
        for name, model in self.models.items():
            if isinstance(model, Addressed):
                model.place(self.addresses.get(name, name))
            if isinstance(model, Timed):
                model.attach(self._alarm(model))

    def _alarm(self, box: Timed) -> Callable[[float], None]:
        """``wake(at)`` for ``box``: call its ``act`` at ``at`` and send what it emits along the routes
        of the connections the segments belong to."""
        def act(at: float) -> Generator[simpy.Event, Any, None]:
            yield self.env.timeout(max(0.0, at - self.env.now))
            for emitted in box.act(self.env.now):
                self.trace.record(*emitted.events)
                route = self._conn_routes.get(emitted.segment.conn)
                if route is not None:
                    route.emit(box, emitted.segment, emitted.outbound)

        def wake(at: float) -> None:
            self.env.process(act(at))

        return wake

    def endpoint(self, name: str) -> Endpoint:
        """Host ``name``'s kernel TCP settings (the scenario's ``hosts:``, else Linux's defaults)."""
        return self.endpoints.get(name, DEFAULT_ENDPOINT)

    def host(self, name: str) -> Host:
        """The host called ``name`` (created on first use)."""
        if name not in self.hosts:
            self.hosts[name] = Host(self.env, self.labels.get(name, name), self.trace,
                                    self.addresses.get(name, name))
        return self.hosts[name]

    def route(self, client: str, server: str) -> Route:
        """The path from ``client`` to ``server`` through every middlebox in chain order."""
        key = (client, server)
        if key not in self._routes:
            if self._path is not None:
                boxes = [self.models[n] for n in self._path(client, server) if n in self.models]
            else:
                boxes = [m for n, m in self.models.items() if n not in (client, server)]
            self._routes[key] = Route(self.env, self.host(client), boxes, self.host(server), self.trace)
        return self._routes[key]

    def ephemeral_port(self, host: str) -> int:
        """The next client port of ``host``."""
        port = self._ports.get(host, EPHEMERAL_BASE)
        self._ports[host] = port + 1
        return port

    def socket(self, client: str, server: str, port: int, conn: str, settings: TcpSettings) -> Socket:
        """A client socket from ``client`` to ``server``:``port`` (not yet connected)."""
        route = self.route(client, server)
        self._conn_routes[conn] = route
        local = (route.client.address, self.ephemeral_port(client))
        return Socket(route.client, route, local, (route.server.address, port), settings, conn, outbound=True)

    def listen(self, server: str, port: int, app: App, settings: TcpSettings) -> None:
        """Serve ``app`` on ``server``:``port``; each accepted socket runs it as a process."""
        host = self.host(server)
        if port in host.listeners:
            return

        def accept(seg: Segment, route: Route) -> Socket:
            sock = Socket(host, route, seg.dst, seg.src, settings, seg.conn, outbound=False)
            self.env.process(_guard(app(sock)))
            return sock

        host.listeners[port] = accept

    def udp_socket(self, client: str, server: str, port: int, conn: str) -> UdpSocket:
        """A UDP socket on ``client`` connected to ``server``:``port`` from a port of its own."""
        route = self.route(client, server)
        local = (route.client.address, self.ephemeral_port(client))
        return UdpSocket(route.client, local, remote=(route.server.address, port), route=route, conn=conn)

    def udp_bind(self, server: str, port: int, handler: Handler) -> UdpSocket:
        """The unconnected UDP socket on ``server``:``port`` serving ``handler`` (bound once: later
        calls return the same socket)."""
        host = self.host(server)
        local = (host.address, port)
        sock = host.datagrams.get((local, None))
        if isinstance(sock, UdpSocket):
            return sock
        return UdpSocket(host, local, handler=handler, outbound=False)

    def udp_limits(self, route: Route) -> list[tuple[str, float, float]]:
        """(node, unreplied, stream) UDP timeouts of each middlebox on ``route`` that tracks UDP flows."""
        return [(model.name, *model.udp_timeouts) for model in self._of(route, DatagramTracker)]

    def limits(self, route: Route) -> list[tuple[str, float]]:
        """(node, established timeout) of each stateful middlebox on ``route``."""
        return [(model.name, float(model.established_timeout))
                for model in self._of(route, ConnectionTracker)]

    def _of(self, route: Route, ability: Any) -> list[Any]:
        """The middleboxes of ``route`` that have ``ability`` (a runtime-checkable protocol), found once per
        route: a protocol's isinstance costs ~40 us in Python 3.11, and the explanations ask per event
        (7 % of predicting isp-modem-bridge-1h)."""
        key = (route, ability)
        if key not in self._abilities:
            self._abilities[key] = [m for m in route.middleboxes if isinstance(m, ability)]
        return self._abilities[key]

    def events(self, conn: str, since: float = float("-inf")) -> list[Event]:
        """What happened to ``conn`` from ``since`` (the trace's events)."""
        return self.trace.of(conn, since)


def _guard(gen: Generator[simpy.Event, Any, None]) -> Generator[simpy.Event, Any, None]:
    """Run a server app; a connection error ends it quietly (the client side reports)."""
    try:
        yield from gen
    except TcpError:
        return
