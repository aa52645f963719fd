"""The ``wireguard`` probe in the model: per rung, a WireGuard tunnel (:mod:`.wgpeer`) whose outer
datagrams cross the scenario's middleboxes, and inside it the udp-recv flow the lab runs (ECHO, then
LATER(idle), answered by the UDP service's own code).

The verdict is the inner flow's: the answer arrives by its deadline plus the grace (alive) or not
(dead). The explanation adds what WireGuard sent last before the answer, which is what a NAT's timer
counts from (typically the server's passive keepalive, 10 wall seconds after the request).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from natsim.errors import ConfigError
from natsim.probes.idle_ladder import GRACE_WALL
from natsim.probes.registry import ProbeModel, options_of
from natsim.probes.udp.datagram import Op, answer_to, parse, request
from natsim.probes.udp.flow import show
from natsim.probes.udp.options import WireguardOptions, delays
from natsim.probes.udp.tunnels import server_port, tunnel_addresses
from natsim.probes.udp.wgpeer import REKEY_AFTER_TIME, Peer
from natsim.report.schema import ConnectionResult, ProbeResult, Verdict, estimate_timeout
from natsim.sim import explain
from natsim.sim.network import Addr, Route
from natsim.sim.segment import Segment
from natsim.sim.udp_endpoint import UdpSocket
from natsim.sim.world import World

Gen = Generator[simpy.Event, Any, None]
#: The inner flow's port on the client (any: it only shows in the answer's mapping).
INNER_PORT = 40000


class Inbox:
    """The inner datagrams delivered to the client's end of a tunnel, and a waiter for the next."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.items: list[bytes] = []
        self.waiting: simpy.Event | None = None

    def put(self, inner: bytes) -> None:
        """A datagram came out of the tunnel."""
        self.items.append(inner)
        if self.waiting is not None and not self.waiting.triggered:
            self.waiting.succeed()

    def wait(self) -> simpy.Event:
        """An event that succeeds when the next datagram comes."""
        self.waiting = self.env.event()
        return self.waiting


class WireguardProbe(ProbeModel):
    """One ``wireguard`` probe: a tunnel and an inner udp-recv flow per rung."""

    def __init__(self, world: World, spec: Any) -> None:
        self.world, self.env, self.spec = world, world.env, spec
        opts = options_of(spec)
        assert isinstance(opts, WireguardOptions)
        self.options = opts
        self.delays = delays(opts)
        self.speed = world.timing.unscaled(1.0)
        limit = REKEY_AFTER_TIME * self.speed
        if max(opts.idles()) >= limit:
            raise ConfigError(f"{spec.name}: idles must stay below WireGuard's rekey time, {limit:g} s "
                              f"real-world at this time scale (rekeying is not modelled)")
        self.keepalive = world.timing.whole(opts.persistent_keepalive) if opts.persistent_keepalive else 0.0
        self.grace = world.timing.unscaled(GRACE_WALL)
        self.route = world.route(spec.client, spec.server)
        self.servers: dict[int, tuple[Peer, list[Any]]] = {}
        self.results: dict[int, ConnectionResult] = {}
        #: per tunnel, every outer datagram sent: (time, who, what)
        self.sent: dict[int, list[tuple[float, str, str]]] = {}
        host = world.host(spec.server)
        self.slot = 0
        while ((host.address, server_port(self.slot)), None) in host.datagrams:   # another probe's slot
            self.slot += 1
        port = server_port(self.slot)
        self.outer = (host.address, port)
        self.server_sock = world.udp_bind(spec.server, port, self._at_server)

    def conn(self, i: int) -> str:
        """Trace label of tunnel ``i``."""
        return f"{self.spec.name}#{i}"

    def start(self) -> None:
        """One process per tunnel."""
        for i in range(self.options.connections):
            self.env.process(self._rung(i))

    def _at_server(self, sock: UdpSocket, seg: Segment, route: Route, outbound: bool) -> None:
        rung = seg.payload[1]
        if rung not in self.servers:
            self.servers[rung] = (self._peer(rung, initiator=False), [None, None])
        peer, endpoint = self.servers[rung]
        endpoint[:] = [seg.src, route]             # roaming: the last authenticated source
        peer.receive(seg.payload[:1], seg.payload[2:])

    def _peer(self, rung: int, *, initiator: bool, sock: UdpSocket | None = None,
              inbox: Inbox | None = None) -> Peer:
        log = self.sent.setdefault(rung, [])
        if initiator:
            assert sock is not None and inbox is not None

            def to_server(message: bytes, inner: bytes, what: str) -> None:
                log.append((self.env.now, "client", what))
                sock.send(message + bytes([rung]) + inner, to=self.outer, route=self.route, outbound=True)
            return Peer(self.env, to_server, inbox.put, True, self.speed, self.keepalive)

        def to_client(message: bytes, inner: bytes, what: str) -> None:
            log.append((self.env.now, "server", what))
            address, route = self.servers[rung][1]
            self.server_sock.send(message + bytes([rung]) + inner, to=address, route=route, outbound=False,
                                  conn=self.conn(rung))

        def serve(inner: bytes) -> None:
            decided = answer_to(inner, (tunnel_addresses(rung, self.slot)[1], INNER_PORT + rung))
            if decided is not None:
                reply, seconds = decided
                self.env.timeout(seconds).callbacks.append(lambda _: self.servers[rung][0].send(reply))
        return Peer(self.env, to_client, serve, False, self.speed)

    def _rung(self, i: int) -> Gen:
        yield self.env.timeout(self.spec.start)
        route = self.route
        host = route.client
        local: Addr = (host.address, self.world.ephemeral_port(self.spec.client))
        inbox = Inbox(self.env)
        sock = UdpSocket(host, local, route=route, conn=self.conn(i),
                         handler=lambda s, seg, r, o: client.receive(seg.payload[:1], seg.payload[2:]))
        client = self._peer(i, initiator=True, sock=sock, inbox=inbox)
        client.up()
        client.send(request(Op.ECHO, i, 1))
        first = yield from self._inner_answer(inbox, 1, self.env.now + self.grace)
        if first is None:
            self._record(i, self.env.now, Verdict.ERROR, "setup", "no answer through the tunnel",
                         "set-up failed")
        else:
            client.send(request(Op.LATER, i, 2, self.delays[i]))
            since = self.env.now
            answer = yield from self._inner_answer(inbox, 2, since + self.options.idle(i) + self.grace)
            self._decide(i, since, answer, first)
        client.stop()
        if i in self.servers:
            self.servers[i][0].stop()
        sock.close()

    def _inner_answer(self, inbox: Inbox, seq: int, until: float) -> Generator[simpy.Event, Any, Any]:
        while True:
            for payload in inbox.items:
                datagram = parse(payload)
                if datagram.answer and datagram.seq == seq:
                    inbox.items.clear()
                    return datagram
            inbox.items.clear()
            if self.env.now >= until:
                return None
            yield inbox.wait() | self.env.timeout(until - self.env.now)

    def before_answer(self, i: int, since: float) -> str:
        """What WireGuard sent last before the server's answer (a NAT's timer counts from it)."""
        answer_at = since + self.options.idle(i)
        earlier = [(t, who, what) for t, who, what in self.sent.get(i, []) if t < answer_at]
        if not earlier:
            return "no datagram before the answer"
        t, who, what = earlier[-1]
        return (f"WireGuard's last datagram before the server's answer: the {who}'s {what} at "
                f"{explain.seconds(t - since)}, {explain.seconds(answer_at - t)} before it")

    def _decide(self, i: int, since: float, answer: Any, first: Any) -> None:
        last = self.before_answer(i, since)
        if answer is None:
            self._record(i, since, Verdict.DEAD, "answer", f"no answer within {GRACE_WALL:g} s",
                         f"{last}; no answer came back through the tunnel")
            return
        self._record(i, since, Verdict.ALIVE, "", f"mapping {show(answer.observed)}",
                     f"{last}; the answer came back through the tunnel")

    def _record(self, i: int, since: float, verdict: Verdict, how: str, detail: str, outcome: str) -> None:
        why = explain.flow(f"connection {i}", self.world.events(self.conn(i), since), self.options.idle(i),
                           self.world.udp_limits(self.route), outcome)
        self.results[i] = ConnectionResult(i, self.options.idle(i), verdict, how,
                                           self.env.now - self.spec.start, f"tunnel {i}: {detail}", why)

    def result(self) -> ProbeResult:
        """The probe's result in the shared schema."""
        conns = [self.results[i] for i in sorted(self.results)]
        return ProbeResult(name=self.spec.name, kind=self.spec.kind, target=f"{self.spec.server} (WireGuard)",
                           node=self.spec.client, connections=conns, estimate=estimate_timeout(conns),
                           extra={"wireguard": "model", "step": self.options.step,
                                  "ran": "the WireGuard model (wireguard-go's timers)",
                                  "persistent_keepalive": self.options.persistent_keepalive},
                           complete=len(conns) == self.options.connections)


def model(world: World, spec: Any) -> ProbeModel:
    """The model of a wireguard probe (its kind's ``model``)."""
    return WireguardProbe(world, spec)
