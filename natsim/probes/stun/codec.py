"""STUN messages on the wire: aioice's codec (``aioice.stun``, maintained, used by aiortc), completed with
the RFC 5780 attributes it lacks.

aioice 0.13 knows MAPPED-ADDRESS, XOR-MAPPED-ADDRESS, CHANGE-REQUEST, RESPONSE-ORIGIN, OTHER-ADDRESS,
ERROR-CODE, SOFTWARE and FINGERPRINT; RESPONSE-PORT (0x0027), PADDING (0x0026) and UNKNOWN-ATTRIBUTES
(0x000A) are registered here in its own tables (:data:`aioice.stun.ATTRIBUTES_BY_TYPE` / ``_BY_NAME``)
with its own packers, so its ``Message`` and ``parse_message`` carry them. Nothing here packs or
unpacks an attribute by hand.

Two checks aioice leaves to its caller are made here, because a server must make them on datagrams
from anyone (:func:`decode`): the header (leading zero bits, magic cookie, length a multiple of 4),
and which comprehension-required attributes (type below 0x8000) a request carries that natsim does
not know (:func:`unknown_required`, answered with 420). aioice's ``parse_message`` skips such
attributes silently.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Iterable

from aioice import stun

__all__ = ["CHANGE_IP", "CHANGE_PORT", "Class", "Message", "Method", "decode", "encode", "is_stun",
           "new_transaction_id", "unknown_required"]

Message = stun.Message
Class = stun.Class
Method = stun.Method

#: CHANGE-REQUEST flags (RFC 5780 7.2).
CHANGE_IP = 0x4
CHANGE_PORT = 0x2
HEADER = stun.HEADER_LENGTH
COOKIE = stun.COOKIE


def _pack_types(value: Iterable[int]) -> bytes:
    return b"".join(stun.pack_unsigned_short(t)[:2] for t in value)


def _unpack_types(data: bytes) -> list[int]:
    return [stun.unpack_unsigned_short(data[i:i + 2]) for i in range(0, len(data) - 1, 2)]


#: What aioice lacks: (type, name, pack, unpack), in its table's format.
MISSING: tuple[stun.AttributeEntry, ...] = (
    (0x000A, "UNKNOWN-ATTRIBUTES", _pack_types, _unpack_types),          # RFC 5389 15.9
    (0x0026, "PADDING", stun.pack_bytes, stun.unpack_bytes),              # RFC 5780 7.6
    (0x0027, "RESPONSE-PORT", stun.pack_unsigned_short, stun.unpack_unsigned_short),  # RFC 5780 7.5
)

for _entry in MISSING:   # a later aioice that knows one keeps its own
    stun.ATTRIBUTES_BY_TYPE.setdefault(_entry[0], _entry)
    stun.ATTRIBUTES_BY_NAME.setdefault(_entry[1], stun.ATTRIBUTES_BY_TYPE[_entry[0]])


def new_transaction_id() -> bytes:
    """96 random bits (RFC 5389 6)."""
    return secrets.token_bytes(12)


def is_stun(data: bytes) -> bool:
    """The fixed header of a STUN message: at least 20 bytes, the two leading bits zero, the magic
    cookie, a length that is a multiple of 4 and matches the datagram (RFC 5389 6)."""
    if len(data) < HEADER or data[0] & 0xC0:
        return False
    _, length, cookie = struct.unpack("!HHI", data[:8])
    return bool(cookie == COOKIE and length % 4 == 0 and len(data) == HEADER + length)


def decode(data: bytes) -> Message | None:
    """The STUN message in ``data``, or None for anything that is not one (garbage is never an
    exception: aioice raises ``ValueError`` or ``struct.error`` on malformed attributes)."""
    if not is_stun(data):
        return None
    try:
        return stun.parse_message(data)
    except (ValueError, struct.error):
        return None


def unknown_required(data: bytes) -> list[int]:
    """Comprehension-required attribute types (0x0000-0x7FFF) in a well-formed message ``data`` that
    the codec does not know (RFC 5389 7.3.1: a request carrying one is answered with 420)."""
    unknown, pos = [], HEADER
    while pos + 4 <= len(data):
        kind, length = struct.unpack("!HH", data[pos:pos + 4])
        if kind < 0x8000 and kind not in stun.ATTRIBUTES_BY_TYPE and kind not in unknown:
            unknown.append(kind)
        pos += 4 + length + stun.padding_length(length)
    return unknown


def encode(message: Message, *, fingerprint: bool = True) -> bytes:
    """``message`` on the wire, with FINGERPRINT last unless ``fingerprint`` is False."""
    if fingerprint:
        message.add_fingerprint()
    return bytes(message)
