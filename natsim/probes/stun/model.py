"""The ``nat-type`` probe in the model: natsim's own RFC 5780 tests (:func:`.discovery.discover`) against
its own server's answers (:class:`.answers.Responder`), played over the simulated path through the
middlebox models on it (their one definition of mapping, filtering, hairpinning and timers).

So the prediction is what the tool reports when the NAT behaves as its model says: the same requests
(aioice's codec), the same judges (:mod:`.judges`), the same report (:mod:`.nat_report`). The model
plays the tests on a simulated network of its own (:class:`ModelNetwork`: the scenario's client and
server hosts, the middlebox models of the world, its trace) from the probe's start: exchanges take no
time and nothing is lost, so only the binding-lifetime waits move its clock (real-world seconds). The
tool's sockets set ``IP_RECVERR``: an ICMP port unreachable about a request is ``refused`` here too.
The server's alternate address is the address after its own (the lab's topologies give it that one);
only its being another address matters to a verdict. A model NAT without a pool names its public
address by a label (``router-wan``), which no STUN attribute carries: on the wire of the model it
stands for an address of 240.0.0.0/4 (reserved; never a lab address), turned back into the label
where the tool reads it (:class:`~natsim.probes.aliases.Aliases`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import struct
from collections.abc import Generator
from typing import Any

import simpy

from natsim.probes.aliases import Aliases
from natsim.probes.registry import ProbeModel, options_of
from natsim.probes.stun import codec
from natsim.probes.stun.answers import Responder, Slot
from natsim.probes.stun.discovery import Discovery, Plan, discover
from natsim.probes.stun.exchange import Answer, Ask, Endpoint, Outcome
from natsim.probes.stun.judges import Address
from natsim.probes.stun.nat_report import probe_result
from natsim.probes.stun.options import NatTypeOptions
from natsim.probes.stun.ports import STUN_PORT, alternate_port
from natsim.probes.stun.udp import answer_of, request
from natsim.report.schema import ProbeResult
from natsim.sim.network import Host, Route
from natsim.sim.segment import ICMP, Segment
from natsim.sim.udp_endpoint import UdpSocket
from natsim.sim.world import World


class ToolSocket(UdpSocket):
    """A socket of the tool: unconnected, keeping every datagram it receives, and the ICMP errors
    about its own datagrams (``IP_RECVERR``), in :attr:`inbox`."""

    def __init__(self, host: Host, local: Address) -> None:
        self.inbox: list[Segment] = []
        super().__init__(host, local, handler=lambda *_: None)   # unconnected; on_datagram keeps all

    def on_datagram(self, seg: Segment, route: Route, outbound: bool) -> None:
        """Keep it, an ICMP error included."""
        self.inbox.append(seg)


def alternate_address(address: str) -> str:
    """The server's second address: the one after ``address`` (a label for a host without one)."""
    try:
        return str(ipaddress.IPv4Address(address) + 1)
    except ValueError:
        return f"{address}-alt"


class ModelNetwork:
    """:class:`~natsim.probes.stun.exchange.StunNetwork` over the world's path from ``client`` to
    ``server``, on a clock of its own starting at ``start`` (real-world seconds); the server listens on
    its two addresses times ``port`` and its alternate port, answering as natsim's server does."""

    def __init__(self, world: World, client: str, server: str, port: int, *, conn: str,
                 start: float) -> None:
        self.world, self.client, self.conn = world, client, conn
        self.env = simpy.Environment(initial_time=start)
        path = world.route(client, server)   # the world's middlebox models on the path, in order
        self.client_host = Host(self.env, client, world.trace, path.client.address)
        server_host = Host(self.env, server, world.trace, path.server.address)
        self.route = Route(self.env, self.client_host, path.middleboxes, server_host, world.trace)
        addresses = (path.server.address, alternate_address(path.server.address))
        ports = (port, alternate_port(port))
        slots: dict[Slot, Address] = {(a, p): (addresses[a], ports[p]) for a in (0, 1) for p in (0, 1)}
        self.responder = Responder(slots)
        self.server = slots[(0, 0)]
        self.listening = {slot: UdpSocket(server_host, address, handler=self._answer(slot), outbound=False)
                          for slot, address in slots.items()}
        self.sent = 0
        self.aliases = Aliases()

    def _answer(self, slot: Slot) -> Any:
        def answer(sock: UdpSocket, seg: Segment, route: Route, outbound: bool) -> None:
            reply = self.responder.reply(seg.payload, self.aliases.wire(seg.src), slot)
            if reply is not None:
                to = self.aliases.model(reply.to)
                assert to is not None
                self.listening[reply.slot].send(reply.data, to=to, route=route, outbound=not outbound,
                                                conn=seg.conn)
        return answer

    async def open(self) -> Endpoint:
        """A socket on the client at its next port."""
        local = (self.client_host.address, self.world.ephemeral_port(self.client))
        return ToolSocket(self.client_host, local)

    async def exchange(self, sender: Endpoint, dest: Address, ask: Ask,
                       receiver: Endpoint | None = None) -> Answer:
        """Send the request and deliver everything it causes; what reached ``receiver`` (or the ICMP
        error ``sender`` got)."""
        tx, rx = sender, receiver or sender
        assert isinstance(tx, ToolSocket) and isinstance(rx, ToolSocket)
        self.sent += 1
        transaction = struct.pack("!4sQ", b"nat-", self.sent)   # deterministic ids
        seen_tx, seen_rx = len(tx.inbox), len(rx.inbox)
        tx.send(request(transaction, ask), to=dest, route=self.route, outbound=True, conn=self.conn)
        self.env.run()   # every delivery is a zero-delay event: run them all
        for seg in rx.inbox[seen_rx:]:
            message = codec.decode(seg.payload) if seg.protocol != ICMP else None
            answer = answer_of(message, seg.src) if message is not None and \
                message.transaction_id == transaction else None
            if answer is not None:
                return dataclasses.replace(answer, mapped=self.aliases.model(answer.mapped))
        if any(seg.protocol == ICMP for seg in tx.inbox[seen_tx:]):
            return Answer(Outcome.REFUSED, detail="ICMP port unreachable")
        return Answer(Outcome.NO_ANSWER)

    def now(self) -> float:
        """The model's clock (real-world seconds)."""
        return float(self.env.now)

    async def sleep_until(self, when: float) -> None:
        """Let the clock run to ``when``."""
        if when > self.env.now:
            self.env.run(until=when)


class NatTypeModel(ProbeModel):
    """One ``nat-type`` probe of a scenario, run at its start."""

    def __init__(self, world: World, spec: Any) -> None:
        self.world, self.spec = world, spec
        options = options_of(spec)
        assert isinstance(options, NatTypeOptions)
        self.options = options
        self.found: Discovery | None = None

    def start(self) -> None:
        """Run the tests at the probe's start."""
        self.world.env.process(self._run())

    def _run(self) -> Generator[simpy.Event, Any, None]:
        yield self.world.env.timeout(self.spec.start)
        port = self.options.port or STUN_PORT
        net = ModelNetwork(self.world, self.spec.client, self.spec.server, port, conn=self.spec.name,
                           start=float(self.world.env.now))
        tests = self.options.tests
        plan = Plan(mapping="mapping" in tests, filtering="filtering" in tests,
                    hairpinning="hairpinning" in tests, lifetimes=self.options.lifetimes(),
                    padding=self.options.padding)
        self.found = asyncio.run(discover(net, net.server, plan))

    def result(self) -> ProbeResult:
        """What the tool would report."""
        assert self.found is not None, "the model ran no tests"
        return probe_result(self.found, kind=self.spec.kind, name=self.spec.name, node=self.spec.client)


def model(world: World, spec: Any) -> ProbeModel:
    """The kind's model factory."""
    return NatTypeModel(world, spec)
