"""The real network of the RFC 5780 tests: asyncio UDP sockets (IPv4) speaking STUN through aioice's
codec (:mod:`.codec`).

A request is retransmitted after 0.5 s, then after twice as long each time (RFC 5389 7.2.1), until
an answer arrives or ``timeout`` wall seconds pass; datagrams that are no STUN message are kept to
say "garbage" rather than "no answer" when nothing else came. Sockets set ``IP_RECVERR``, so an ICMP
port unreachable about a request ends its exchange at once as "refused" (nothing listens there, or a
NAT refused the datagram) instead of waiting out the timeout as silence; each socket has at most one
exchange in flight, so the error is that exchange's.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from typing import Any, cast

from natsim.errors import ProbeError
from natsim.kernel_facts import IP_RECVERR
from natsim.probes.stun import codec
from natsim.probes.stun.exchange import Answer, Ask, Endpoint, Outcome
from natsim.probes.stun.judges import Address

#: First retransmission after this many seconds (RFC 5389 7.2.1), doubling.
RTO = 0.5
#: A padded request fills a 1500-byte IPv4 packet (RFC 5780 7.6): its UDP payload.
PADDED_SIZE = 1500 - 28


def resolve(text: str, default_port: int) -> Address:
    """``HOST[:PORT]`` → (IPv4 address, port); :class:`ProbeError` when it does not resolve."""
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = text, str(default_port)
    try:
        port = int(port_text)
    except ValueError:
        raise ProbeError(f"--stun {text!r}: expected HOST or HOST:PORT") from None
    if not host or not 1 <= port <= 65535:
        raise ProbeError(f"--stun {text!r}: expected HOST or HOST:PORT with a port in 1..65535")
    try:
        found = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as err:
        raise ProbeError(f"--stun {host}: cannot resolve it to an IPv4 address: {err}") from err
    return (str(found[0][4][0]), port)


def local_address_towards(server: Address) -> str:
    """The local IPv4 address the system routes ``server`` from (nothing is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(server)
        except OSError as err:
            raise ProbeError(f"cannot reach {server[0]}:{server[1]}: {err.strerror or err}") from err
        return str(probe.getsockname()[0])


def request(transaction: bytes, ask: Ask) -> bytes:
    """A Binding request carrying ``ask``'s attributes (and FINGERPRINT), padded when asked."""
    attributes: dict[str, Any] = {}
    flags = (codec.CHANGE_IP if ask.change_ip else 0) | (codec.CHANGE_PORT if ask.change_port else 0)
    if flags:
        attributes["CHANGE-REQUEST"] = flags
    if ask.response_port is not None:
        attributes["RESPONSE-PORT"] = ask.response_port
    message = codec.Message(codec.Method.BINDING, codec.Class.REQUEST, transaction, attributes)
    if ask.padding:   # room left once PADDING's header (4 bytes) and FINGERPRINT (8) are in
        room = PADDED_SIZE - len(bytes(message)) - 12
        attributes["PADDING"] = bytes(max(0, room - room % 4))
    return codec.encode(message)


def answer_of(message: codec.Message, source: Address) -> Answer | None:
    """The :class:`Answer` a message that carries our transaction id gives (None: an indication)."""
    attrs = message.attributes
    if message.message_class == codec.Class.RESPONSE:
        return Answer(Outcome.ANSWERED, source, _address(attrs.get("XOR-MAPPED-ADDRESS")
                                                         or attrs.get("MAPPED-ADDRESS")),
                      _address(attrs.get("OTHER-ADDRESS")), _address(attrs.get("RESPONSE-ORIGIN")))
    if message.message_class == codec.Class.ERROR:
        code, reason = attrs.get("ERROR-CODE", (0, "no ERROR-CODE"))
        return Answer(Outcome.ERROR_RESPONSE, source, detail=f"error {code} {reason}".strip())
    if message.message_class == codec.Class.REQUEST:
        return Answer(Outcome.REQUEST, source)
    return None


def _address(value: Any) -> Address | None:
    return None if value is None else (str(value[0]), int(value[1]))


@dataclass(eq=False)
class UdpEndpoint(asyncio.DatagramProtocol):
    """A local UDP socket: answers are handed to the exchange waiting for their transaction id."""

    waiting: dict[bytes, asyncio.Future[Answer]] = field(default_factory=dict)
    sending: dict[bytes, asyncio.Future[Answer]] = field(default_factory=dict)   # in flight from here
    garbage: list[tuple[Address, bytes]] = field(default_factory=list)
    error: OSError | None = None
    transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        """Route a datagram to the exchange it answers; keep garbage."""
        source = (str(addr[0]), int(addr[1]))
        message = codec.decode(data)
        if message is None:
            self.garbage.append((source, data[:16]))
            return
        future = self.waiting.get(message.transaction_id)
        answer = answer_of(message, source) if future is not None else None
        if future is not None and answer is not None and not future.done():
            future.set_result(answer)

    def error_received(self, exc: Exception) -> None:
        """A send the system refused (no route, ...), or an ICMP port unreachable about a request sent
        from here (ECONNREFUSED, through ``IP_RECVERR``): that exchange is refused."""
        self.error = exc if isinstance(exc, OSError) else OSError(str(exc))
        if isinstance(exc, ConnectionRefusedError):
            for future in self.sending.values():
                if not future.done():
                    future.set_result(Answer(Outcome.REFUSED, detail="ICMP port unreachable"))

    @property
    def local(self) -> Address:
        """Its own address and port."""
        assert self.transport is not None
        name = self.transport.get_extra_info("sockname")
        return (str(name[0]), int(name[1]))

    def close(self) -> None:
        """Close the socket."""
        if self.transport is not None:
            self.transport.close()


class UdpNetwork:
    """:class:`~natsim.probes.stun.exchange.StunNetwork` on real sockets bound to ``local_ip``."""

    def __init__(self, local_ip: str, *, timeout: float = 3.0, rto: float = RTO) -> None:
        self.local_ip = local_ip
        self.timeout = timeout
        self.rto = rto

    async def open(self) -> Endpoint:
        """A new socket on an ephemeral port."""
        loop = asyncio.get_running_loop()
        try:
            transport, endpoint = await loop.create_datagram_endpoint(
                UdpEndpoint, local_addr=(self.local_ip, 0), family=socket.AF_INET)
        except OSError as err:
            raise ProbeError(f"cannot open a UDP socket on {self.local_ip}: {err.strerror or err}") from err
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
        return endpoint

    async def exchange(self, sender: Endpoint, dest: Address, ask: Ask,
                       receiver: Endpoint | None = None) -> Answer:
        """Send a Binding request from ``sender`` to ``dest``, retransmitting, until what answers it
        arrives at ``receiver`` (default ``sender``) or the timeout passes."""
        tx, rx = cast(UdpEndpoint, sender), cast(UdpEndpoint, receiver or sender)
        assert tx.transport is not None
        loop = asyncio.get_running_loop()
        transaction = codec.new_transaction_id()
        data = request(transaction, ask)
        future: asyncio.Future[Answer] = loop.create_future()
        rx.waiting[transaction] = tx.sending[transaction] = future
        garbage, deadline, wait = len(rx.garbage), loop.time() + self.timeout, self.rto
        try:
            while not future.done() and loop.time() < deadline:
                tx.error = None
                tx.transport.sendto(data, dest)
                if tx.error is not None and not future.done():
                    return Answer(Outcome.SEND_FAILED, detail=tx.error.strerror or str(tx.error))
                await asyncio.wait({future}, timeout=min(wait, deadline - loop.time()))
                wait *= 2
        finally:
            rx.waiting.pop(transaction, None)
            tx.sending.pop(transaction, None)
        if future.done():
            return future.result()
        if len(rx.garbage) > garbage:
            source, head = rx.garbage[garbage]
            return Answer(Outcome.GARBAGE, source, detail=f"{len(rx.garbage) - garbage} datagram(s) that are "
                          f"no STUN message, the first from {source[0]}:{source[1]} starting {head.hex()}")
        return Answer(Outcome.NO_ANSWER)

    def now(self) -> float:
        """The event loop's monotonic clock."""
        return asyncio.get_running_loop().time()

    async def sleep_until(self, when: float) -> None:
        """Sleep until ``when``."""
        await asyncio.sleep(max(0.0, when - self.now()))
