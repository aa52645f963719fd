"""The wire format of natsim's UDP probe service (``NSU1``), shared by the server, the tools and the model.

Every datagram, request or answer, is exactly :data:`DATAGRAM_SIZE` (48) bytes, big-endian:

======  ====  ===========================================================================================
offset  size  field
======  ====  ===========================================================================================
0       4     magic ``NSU1``
4       1     op: 1 ECHO (answer now), 2 LATER (answer once, ``seconds`` after the request arrived),
              3 KEEP (a keepalive: never answered); an answer carries ``op | 0x80``
5       3     zero
8       8     token: chosen by the client per flow, copied into the answer
16      4     seq: chosen by the client per datagram, copied into the answer
20      4     seconds: whole real-world seconds, 0..86400 (LATER only; 0 for ECHO and KEEP)
24      1     family: 0 in a request; in an answer 4 or 6, the family of the source the server saw (0: it
              cannot say, e.g. a source the model names by a label)
25      1     zero
26      2     port: 0 in a request; in an answer the source port the server saw
28      16    address: zero in a request; in an answer the source address the server saw (IPv4: the first
              4 bytes)
44      4     zero
======  ====  ===========================================================================================

An answer is the request with its op marked and the observed source filled in: never bigger than what
arrived, so the server cannot amplify. The server answers every request to the address it came from and
ignores anything else silently: another size, another magic, an answer, a non-zero reserved byte or
observed source, a LATER above :data:`MAX_DELAY` or an ECHO/KEEP with seconds.
"""

from __future__ import annotations

import enum
import ipaddress
import struct
from dataclasses import dataclass, replace

from natsim.errors import ProbeError
from natsim.probes.service import Service

#: The UDP service of ``natsim serve`` (udp-send, udp-recv, udp-keepalive).
UDP_PORT = 16180
UDP_ECHO = Service("udp-echo", UDP_PORT, "udp")
MAGIC = b"NSU1"
#: The size of every request and answer.
DATAGRAM_SIZE = 48
#: Longest delay a LATER request may ask for (real-world seconds).
MAX_DELAY = 86400
#: An answer's op is the request's with this bit set.
ANSWER_BIT = 0x80

_FORMAT = struct.Struct(">4sB3xQII B x H 16s 4x")
assert _FORMAT.size == DATAGRAM_SIZE


class Op(enum.IntEnum):
    """What a request asks of the server."""

    ECHO = 1    # answer now
    LATER = 2   # answer once, after ``seconds``
    KEEP = 3    # never answered: a keepalive that only refreshes middlebox state


class BadDatagram(ProbeError):
    """A datagram that is not a valid ``NSU1`` request or answer (the server ignores it)."""


@dataclass(frozen=True)
class Datagram:
    """One ``NSU1`` datagram. ``observed`` is (address, port) of the request's source, answers only."""

    op: Op
    token: int
    seq: int
    seconds: int = 0
    answer: bool = False
    observed: tuple[str, int] | None = None

    def encode(self) -> bytes:
        """The datagram's 48 bytes (an observed source that is no IP address is sent as unknown)."""
        family, port, address = 0, 0, bytes(16)
        if self.observed is not None:
            try:
                ip = ipaddress.ip_address(self.observed[0])
            except ValueError:
                ip = None
            if ip is not None:
                family, port = ip.version, self.observed[1]
                address = ip.packed.ljust(16, b"\0")
        op = int(self.op) | (ANSWER_BIT if self.answer else 0)
        return _FORMAT.pack(MAGIC, op, self.token, self.seq, self.seconds, family, port, address)

    def answered(self, source: tuple[str, int]) -> Datagram:
        """The answer to this request from a server that saw it come from ``source``."""
        return replace(self, answer=True, observed=(str(source[0]), int(source[1])))


def request(op: Op, token: int, seq: int, seconds: int = 0) -> bytes:
    """A request's bytes; :class:`ProbeError` for a delay the server would refuse."""
    problem = delay_problem(seconds) if op is Op.LATER else (
        f"{op.name} carries no delay, got {seconds}" if seconds else None)
    if problem is not None:
        raise ProbeError(problem)
    return Datagram(op, token, seq, seconds).encode()


def delay_problem(seconds: float) -> str | None:
    """Why a LATER request cannot ask for ``seconds`` (None: it can). The server's parser, the tools'
    option checks and the model all ask this one question."""
    if not float(seconds).is_integer():
        return f"a delay of {seconds:g} s is not whole seconds (the UDP service takes whole seconds)"
    if not 0 <= seconds <= MAX_DELAY:
        return f"a delay of {seconds:g} s is outside 0..{MAX_DELAY} s"
    return None


def parse(data: bytes) -> Datagram:
    """The datagram ``data`` holds; :class:`BadDatagram` for anything that is not exactly one."""
    if len(data) != DATAGRAM_SIZE:
        raise BadDatagram(f"{len(data)} bytes, not {DATAGRAM_SIZE}")
    magic, op, token, seq, seconds, family, port, address = _FORMAT.unpack(data)
    if magic != MAGIC:
        raise BadDatagram(f"magic {magic!r}, not {MAGIC!r}")
    if data[5:8] != b"\0\0\0" or data[25:26] != b"\0" or data[44:] != b"\0\0\0\0":
        raise BadDatagram("a reserved byte is not zero")
    answer = bool(op & ANSWER_BIT)
    try:
        kind = Op(op & ~ANSWER_BIT)
    except ValueError as err:
        raise BadDatagram(f"unknown op {op}") from err
    problem = (delay_problem(seconds) if kind is Op.LATER
               else "a delay on a non-LATER op" if seconds else None)
    if problem is not None:
        raise BadDatagram(problem)
    return Datagram(kind, token, seq, seconds, answer, _observed(answer, family, port, address))


def _observed(answer: bool, family: int, port: int, address: bytes) -> tuple[str, int] | None:
    if not answer:
        if family or port or any(address):
            raise BadDatagram("a request carries an observed source")
        return None
    if family == 4 and not any(address[4:]):
        return str(ipaddress.IPv4Address(address[:4])), port
    if family == 6:
        return str(ipaddress.IPv6Address(address)), port
    if family == 0 and not port and not any(address):
        return None                     # the server could not say
    raise BadDatagram(f"observed family {family}")


def parse_request(data: bytes) -> Datagram:
    """A request the server answers (or, KEEP, takes silently); :class:`BadDatagram` otherwise
    (answers included: two servers never talk to each other)."""
    datagram = parse(data)
    if datagram.answer:
        raise BadDatagram("an answer, not a request")
    return datagram


def answer_to(data: bytes, source: tuple[str, int]) -> tuple[bytes, int] | None:
    """What the server does with ``data`` from ``source``: (answer bytes, real-world seconds to wait)
    or None (ignore it). Raises nothing, whatever ``data`` is: the server and the model both call it."""
    try:
        datagram = parse_request(data)
    except BadDatagram:
        return None
    if datagram.op is Op.KEEP:
        return None
    try:
        reply = datagram.answered(source).encode()
    except (ValueError, struct.error):   # a port the format cannot carry: answered without a source
        reply = replace(datagram, answer=True).encode()
    assert len(reply) <= len(data)
    return reply, datagram.seconds
