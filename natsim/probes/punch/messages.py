"""The wire format of hole punching, ``NSH1``: every message is one UDP datagram of 32 bytes.

======  ====  ===========================================================================================
offset  size  field
======  ====  ===========================================================================================
0       4     magic ``NSH1``
4       1     op: 1 REGISTER (peer to rendezvous), 2 WAIT (rendezvous: registered, no peer yet),
              3 PEER (rendezvous: here is your peer), 4 PUNCH (peer to peer)
5       1     flags: bit 0 HEARD (PUNCH only: the sender has heard from the receiver); other bits zero
6       2     zero
8       8     session: chosen by the peers (both give the same), copied into every answer
16      4     seq: chosen by the sender, copied into the answer (REGISTER → WAIT/PEER)
20      2     observed port: WAIT/PEER: the source port the rendezvous saw this peer's REGISTER come from
22      2     peer port: PEER: the other peer's observed source port
24      4     observed IPv4 address (WAIT/PEER), zero otherwise
28      4     peer IPv4 address (PEER), zero otherwise
======  ====  ===========================================================================================

The rendezvous answers only REGISTER, with a datagram of the same size (no amplification); a peer
takes PUNCH from anyone who knows its session. Anything else (another size or magic, a reserved bit, an
address where none belongs) is not an ``NSH1`` message and is ignored.
"""

from __future__ import annotations

import enum
import hashlib
import ipaddress
import struct
from dataclasses import dataclass

from natsim.errors import ProbeError
from natsim.probes.service import Service

#: The rendezvous service of ``natsim serve --rendezvous`` (hole-punch).
RENDEZVOUS_PORT = 16181
RENDEZVOUS = Service("rendezvous", RENDEZVOUS_PORT, "udp")
MAGIC = b"NSH1"
SIZE = 32
#: PUNCH flag: the sender has heard from the receiver.
HEARD = 0x01

_FORMAT = struct.Struct(">4sBB2xQIHH4s4s")
assert _FORMAT.size == SIZE

Address = tuple[str, int]


class Op(enum.IntEnum):
    """What a message is."""

    REGISTER = 1
    WAIT = 2
    PEER = 3
    PUNCH = 4


class BadMessage(ProbeError):
    """A datagram that is not an ``NSH1`` message (ignored by whoever gets it)."""


@dataclass(frozen=True)
class Message:
    """One ``NSH1`` message; ``observed`` and ``peer`` are (IPv4 address, port)."""

    op: Op
    session: int
    seq: int = 0
    flags: int = 0
    observed: Address | None = None
    peer: Address | None = None

    def encode(self) -> bytes:
        """The message's 32 bytes."""
        observed, peer = _packed(self.observed), _packed(self.peer)
        return _FORMAT.pack(MAGIC, int(self.op), self.flags, self.session, self.seq, observed[1], peer[1],
                            observed[0], peer[0])


def _packed(address: Address | None) -> tuple[bytes, int]:
    if address is None:
        return bytes(4), 0
    try:
        return ipaddress.IPv4Address(address[0]).packed, int(address[1])
    except ValueError as err:
        raise ProbeError(f"NSH1 carries IPv4 addresses only, not {address[0]!r}") from err


def _unpacked(raw: bytes, port: int) -> Address | None:
    return None if port == 0 and not any(raw) else (str(ipaddress.IPv4Address(raw)), port)


def parse(data: bytes) -> Message:
    """The message ``data`` holds; :class:`BadMessage` for anything that is not exactly one."""
    if len(data) != SIZE:
        raise BadMessage(f"{len(data)} bytes, not {SIZE}")
    magic, op, flags, session, seq, port, peer_port, observed, peer = _FORMAT.unpack(data)
    if magic != MAGIC:
        raise BadMessage(f"magic {magic!r}, not {MAGIC!r}")
    if data[6:8] != b"\0\0":
        raise BadMessage("a reserved byte is not zero")
    try:
        kind = Op(op)
    except ValueError as err:
        raise BadMessage(f"unknown op {op}") from err
    if flags & ~HEARD or (flags and kind is not Op.PUNCH):
        raise BadMessage(f"flags {flags:#x} on {kind.name}")
    message = Message(kind, session, seq, flags, _unpacked(observed, port), _unpacked(peer, peer_port))
    if kind in (Op.REGISTER, Op.PUNCH) and (message.observed or message.peer):
        raise BadMessage(f"{kind.name} carries an address")
    if kind is Op.WAIT and message.peer is not None:
        raise BadMessage("WAIT carries a peer")
    return message


def session_id(name: str) -> int:
    """The 64-bit session of a session name both peers give (the first 8 bytes of its SHA-256)."""
    if not name:
        raise ProbeError("--session must not be empty")
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")


def show(address: Address | None) -> str:
    """``198.51.100.1:40000``, or ``none``."""
    return "none" if address is None else f"{address[0]}:{address[1]}"
