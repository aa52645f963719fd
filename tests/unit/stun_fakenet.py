"""A deterministic network for the RFC 5780 tests: client sockets behind one NAT of a chosen behaviour,
an RFC 5780 STUN server outside (natsim's own :class:`Responder`, fed the real request bytes), virtual
time (each exchange takes ``rtt``). No sockets, no clock: a test runs in microseconds and always the
same way.

The NAT keeps bindings keyed by its mapping behaviour (endpoint-independent: the internal endpoint;
address-dependent: plus the remote address; address-and-port-dependent: plus the remote port), lets
an inbound datagram through by its filtering behaviour (the remote endpoints a binding has sent to),
forgets a binding ``lifetime`` seconds after it was last used (in either direction), and loops a
datagram sent to its own external address back inside when it hairpins (not filtered, as a NAT that
hairpins in its prerouting DNAT does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from natsim.probes.stun import codec
from natsim.probes.stun.answers import Reply, Responder, Slot
from natsim.probes.stun.exchange import Answer, Ask, Endpoint, Outcome
from natsim.probes.stun.judges import Address, Behaviour
from natsim.probes.stun.udp import answer_of, request

CLIENT_IP = "192.0.2.10"
NAT_IP = "203.0.113.1"
SERVER_IP, ALT_IP = "203.0.113.10", "203.0.113.11"
PORT, ALT_PORT = 3478, 3479
SERVER = (SERVER_IP, PORT)
FOUR_SLOTS: dict[Slot, Address] = {(0, 0): (SERVER_IP, PORT), (1, 0): (ALT_IP, PORT),
                                   (0, 1): (SERVER_IP, ALT_PORT), (1, 1): (ALT_IP, ALT_PORT)}

EIM = Behaviour.ENDPOINT_INDEPENDENT
ADM = Behaviour.ADDRESS_DEPENDENT
APDM = Behaviour.ADDRESS_AND_PORT_DEPENDENT


@dataclass
class Binding:
    internal: Address
    external_port: int
    permitted: set[Address] = field(default_factory=set)
    last_used: float = 0.0


@dataclass
class FakeNat:
    """A NAT's behaviour and its binding table."""

    mapping: Behaviour
    filtering: Behaviour
    hairpinning: bool = False
    lifetime: float = 1e9
    port_preservation: bool = False
    refuses: bool = False   # what it does not let through it answers with ICMP port unreachable
    bindings: dict[Any, Binding] = field(default_factory=dict)
    next_port: int = 40000

    def _key(self, src: Address, dst: Address) -> Any:
        return {EIM: src, ADM: (src, dst[0]), APDM: (src, dst)}[self.mapping]

    def _alive(self, binding: Binding, now: float) -> bool:
        return now - binding.last_used < self.lifetime

    def outbound(self, src: Address, dst: Address, now: float) -> Address:
        """The translated source of a datagram from ``src`` to ``dst``."""
        key = self._key(src, dst)
        binding = self.bindings.get(key)
        if binding is None or not self._alive(binding, now):
            used = {b.external_port for b in self.bindings.values() if self._alive(b, now)}
            port = src[1] if self.port_preservation and src[1] not in used else self._free(used)
            binding = self.bindings[key] = Binding(src, port)
        binding.permitted.add(dst)
        binding.last_used = now
        return (NAT_IP, binding.external_port)

    def _free(self, used: set[int]) -> int:
        while self.next_port in used:
            self.next_port += 1
        self.next_port += 1
        return self.next_port - 1

    def inbound(self, src: Address, port: int, now: float, *, hairpin: bool = False) -> Address | None:
        """Where a datagram from ``src`` to the NAT's ``port`` goes inside (None: dropped)."""
        for binding in self.bindings.values():
            if binding.external_port != port or not self._alive(binding, now):
                continue
            allowed = hairpin or {EIM: True, ADM: src[0] in {p[0] for p in binding.permitted},
                                  APDM: src in binding.permitted}[self.filtering]
            if allowed:
                binding.last_used = now
                return binding.internal
        return None


#: A server's answer to request bytes from a translated source at a slot (None: silence).
Server = Callable[[bytes, Address, Slot], Reply | None]


def rfc5780_server(slots: dict[Slot, Address] | None = None) -> Server:
    return Responder(slots or FOUR_SLOTS).reply


def ignoring_change_request() -> Server:
    """A broken server: answers every request from where it arrived."""
    responder = Responder(FOUR_SLOTS)

    def reply(data: bytes, source: Address, slot: Slot) -> Reply | None:
        answer = responder.reply(data, source, slot)
        return None if answer is None else Reply(slot, answer.to, answer.data, answer.note)
    return reply


@dataclass
class FakeEndpoint:
    local: Address
    closed: bool = False

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeNetwork:
    """The :class:`StunNetwork` of a client behind ``nat`` (None: no NAT) and a server at ``slots``."""

    nat: FakeNat | None
    server: Server = field(default_factory=rfc5780_server)
    slots: dict[Slot, Address] = field(default_factory=lambda: dict(FOUR_SLOTS))
    raw: Callable[[bytes], bytes | None] | None = None   # replaces the server: bytes back from SERVER
    clock: float = 0.0
    rtt: float = 0.01
    opened: list[FakeEndpoint] = field(default_factory=list)
    sent: list[tuple[Address, Address, Ask]] = field(default_factory=list)

    async def open(self) -> Endpoint:
        endpoint = FakeEndpoint((CLIENT_IP, 50000 + len(self.opened)))
        self.opened.append(endpoint)
        return endpoint

    def now(self) -> float:
        return self.clock

    async def sleep_until(self, when: float) -> None:
        self.clock = max(self.clock, when)

    async def exchange(self, sender: Endpoint, dest: Address, ask: Ask,
                       receiver: Endpoint | None = None) -> Answer:
        assert not any(e.closed for e in (sender, receiver) if isinstance(e, FakeEndpoint))
        rx = receiver or sender
        transaction = codec.new_transaction_id()
        data = request(transaction, ask)
        self.sent.append((sender.local, dest, ask))
        source = self.nat.outbound(sender.local, dest, self.clock) if self.nat else sender.local
        self.clock += self.rtt   # the answer (or the hairpinned request) comes back through the NAT later
        if self.nat is not None and dest[0] == NAT_IP:       # to the NAT's own address: hairpinning
            inside = self.nat.inbound(source, dest[1], self.clock, hairpin=True) \
                if self.nat.hairpinning else None
            if inside is None and self.nat.refuses:
                return Answer(Outcome.REFUSED, detail="ICMP port unreachable")
            return self._arrive(data, source, inside, rx, transaction)
        if self.raw is not None:
            back = self.raw(data) if dest == SERVER else None
            return self._arrive(back, dest, self._inward(dest, source), rx, transaction)
        slot = next((s for s, a in self.slots.items() if a == dest), None)
        reply = self.server(data, source, slot) if slot is not None else None
        if reply is None:
            return Answer(Outcome.NO_ANSWER)
        origin = self.slots[reply.slot]
        return self._arrive(reply.data, origin, self._inward(origin, reply.to), rx, transaction)

    def _inward(self, src: Address, to: Address) -> Address | None:
        if self.nat is None:
            return to
        return self.nat.inbound(src, to[1], self.clock) if to[0] == NAT_IP else None

    def _arrive(self, data: bytes | None, source: Address, inside: Address | None, rx: Endpoint,
                transaction: bytes) -> Answer:
        if data is None or inside != rx.local:
            return Answer(Outcome.NO_ANSWER)
        message = codec.decode(data)
        if message is None:
            return Answer(Outcome.GARBAGE, source, detail="not STUN")
        if message.transaction_id != transaction:
            return Answer(Outcome.NO_ANSWER)
        return answer_of(message, source) or Answer(Outcome.NO_ANSWER)
