"""The ``hole-punch`` probe in the model: both peers' :class:`~natsim.probes.punch.puncher.Puncher` and the
rendezvous's :class:`~natsim.probes.punch.rendezvous.Rendezvous` (the tool's and the server's own code)
exchanging ``NSH1`` datagrams over the world's routes, through the middlebox models on them.

Each peer's datagrams to the rendezvous take the route from its node to the server; its punches the
route from its node to the other peer's, which crosses the peer's own NAT from the inside and the other
peer's NAT from the outside (:class:`~natsim.sim.network.Sided`); an answer goes back on the route its
datagram came on. The schedule is the tool's: REGISTER until the rendezvous names the peer (again
every :data:`~natsim.probes.punch.peer.RESEND_WALL` wall seconds), a punch every ``interval`` until
done or ``duration`` has passed; deliveries take no time. A model NAT's public address is a label, which
crosses the wire as a stand-in address (:class:`~natsim.probes.aliases.Aliases`).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

from natsim.errors import ConfigError
from natsim.probes.aliases import Aliases
from natsim.probes.punch.cli import SETUP_TIMEOUT
from natsim.probes.punch.messages import RENDEZVOUS_PORT, Address, session_id, show
from natsim.probes.punch.options import HolePunchOptions
from natsim.probes.punch.peer import RESEND_WALL
from natsim.probes.punch.punch_result import findings, joined, side
from natsim.probes.punch.puncher import Puncher
from natsim.probes.punch.rendezvous import Rendezvous
from natsim.probes.registry import ProbeModel, options_of
from natsim.report.schema import ProbeResult, Verdict
from natsim.sim import explain
from natsim.sim.network import Route, Segment
from natsim.sim.udp_endpoint import UdpSocket
from natsim.sim.world import World

Gen = Generator[simpy.Event, Any, None]


@dataclass
class Meeting:
    """The rendezvous on one server port, shared by every hole-punch probe that uses it: its sessions,
    the label stand-ins and the route each registered source came on."""

    rendezvous: Rendezvous
    aliases: Aliases = field(default_factory=Aliases)
    routes: dict[Address, tuple[Route, bool]] = field(default_factory=dict)

    def __call__(self, sock: UdpSocket, seg: Segment, route: Route, outbound: bool) -> None:
        """A datagram for the rendezvous: its answers go back on the routes their sources came on."""
        source = self.aliases.wire(seg.src)
        self.routes[source] = (route, outbound)
        for data, to in self.rendezvous.received(seg.payload, source):
            back, came_out = self.routes[to]
            target = self.aliases.model(to)
            assert target is not None
            sock.send(data, to=target, route=back, outbound=not came_out, conn=seg.conn)


@dataclass
class Side:
    """One peer as the model runs it."""

    node: str
    puncher: Puncher
    conn: str
    heard_at: float | None = None
    waited: float = 0.0


class HolePunchModel(ProbeModel):
    """One ``hole-punch`` probe: the client and ``peer`` meet at the server's rendezvous and punch."""

    def __init__(self, world: World, spec: Any) -> None:
        options = options_of(spec)
        assert isinstance(options, HolePunchOptions)
        if not options.peer:
            raise ConfigError(f"probe {spec.name}: hole-punch needs `peer` (the other peer's node)")
        self.world, self.env, self.spec, self.options = world, world.env, spec, options
        port = options.port or RENDEZVOUS_PORT
        sock = world.udp_bind(spec.server, port, Meeting(Rendezvous(clock=lambda: float(world.env.now))))
        if not isinstance(sock.handler, Meeting):
            raise ConfigError(f"probe {spec.name}: {spec.server} port {port} serves something else")
        self.meeting = sock.handler
        self.server = (world.host(spec.server).address, port)
        session = session_id(spec.name)
        self.sides = [Side(node, Puncher(session, self.server), f"{spec.name}:{node}")
                      for node in (spec.client, options.peer)]
        self.changed = self.env.event()

    def start(self) -> None:
        """Both peers, from the probe's start."""
        for me, other in ((0, 1), (1, 0)):
            self.env.process(self._peer(self.sides[me], self.sides[other].node))

    def _socket(self, me: Side) -> UdpSocket:
        aliases = self.meeting.aliases

        def take(sock: UdpSocket, seg: Segment, route: Route, outbound: bool) -> None:
            before = me.puncher.heard_from
            for data, to in me.puncher.on_datagram(seg.payload, aliases.wire(seg.src)):
                target = aliases.model(to)
                assert target is not None
                sock.send(data, to=target, route=route, outbound=not outbound, conn=me.conn)
            if before is None and me.puncher.heard_from is not None:
                me.heard_at = float(self.env.now)
            self._wake()

        host = self.world.host(me.node)
        return UdpSocket(host, (host.address, self.world.ephemeral_port(me.node)), handler=take)

    def _wake(self) -> None:
        if not self.changed.triggered:
            self.changed.succeed()
        self.changed = self.env.event()

    def _send(self, sock: UdpSocket, sends: list[tuple[bytes, Address]], route: Route, conn: str) -> None:
        for data, to in sends:
            target = self.meeting.aliases.model(to)
            assert target is not None
            sock.send(data, to=target, route=route, outbound=True, conn=conn)

    def _peer(self, me: Side, other: str) -> Gen:
        yield self.env.timeout(self.spec.start)
        sock, start = self._socket(me), float(self.env.now)
        timing, puncher = self.world.timing, me.puncher
        to_meeting, to_peer = self.world.route(me.node, self.spec.server), self.world.route(me.node, other)
        setup_end = start + timing.unscaled(SETUP_TIMEOUT)
        while not puncher.paired and puncher.heard_from is None and self.env.now < setup_end:
            self._send(sock, [puncher.register()], to_meeting, me.conn)
            wait = min(timing.unscaled(RESEND_WALL), setup_end - self.env.now)
            yield self.env.any_of([self.env.timeout(wait), self.changed])
        if puncher.paired or puncher.heard_from is not None:
            end = self.env.now + self.options.duration
            while not puncher.done and self.env.now < end:
                self._send(sock, puncher.tick(), to_peer, me.conn)
                yield self.env.timeout(min(self.options.interval, end - self.env.now))
            if puncher.done:
                yield self.env.timeout(self.options.interval)
        me.waited = float(self.env.now) - start
        sock.close()

    def result(self) -> ProbeResult:
        """Both peers' results, joined as the lab driver joins the tools'."""
        sides = []
        for me, other in ((0, 1), (1, 0)):
            side_ = self.sides[me]
            conn = side(side_.puncher, index=0, label=side_.node, waited=side_.waited, shown=self._shown,
                        elapsed=None if side_.heard_at is None else side_.heard_at - self.spec.start)
            if conn.verdict is Verdict.DEAD:
                events = self.world.events(self.sides[other].conn)
                conn.explanation = (f"{self.sides[other].node}'s punches: {explain.summarise(events)}"
                                    if events else "no punch was sent")
            sides.append(ProbeResult(self.spec.name, self.spec.kind, show(self.server), side_.node,
                                     [conn], extra=findings(side_.puncher, self._shown)))
        return joined(self.spec.name, self.spec.kind, show(self.server), self.spec.client, sides)


    def _shown(self, address: Address | None) -> str:
        return show(self.meeting.aliases.model(address))


def model(world: World, spec: Any) -> ProbeModel:
    """The kind's model factory."""
    return HolePunchModel(world, spec)
