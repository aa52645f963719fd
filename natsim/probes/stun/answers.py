"""What an RFC 5780 STUN server answers (pure: datagram in, reply out, no sockets).

The server listens on up to four sockets, ``slots``: (address, port) for address 0 (primary) or 1
(alternate) and port 0 (primary) or 1 (alternate). A Binding request that reaches slot (a, p) with
CHANGE-REQUEST flags (ip, port) is answered from slot (a ^ ip, p ^ port) (RFC 5780 6.1, Table 1),
to the request's source, or to its source address and the RESPONSE-PORT. The response carries
MAPPED-ADDRESS and XOR-MAPPED-ADDRESS (the request's source), RESPONSE-ORIGIN (the slot it is sent
from) and, with an alternate address, OTHER-ADDRESS (slot (1 - a, 1 - p)). A server without an
alternate address has one slot, sends no OTHER-ADDRESS and answers a CHANGE-REQUEST that asks for a
change with 420. A request with PADDING gets a response padded to the request's size (never larger:
no amplification); with PADDING and RESPONSE-PORT together, 400. A comprehension-required attribute
natsim does not know gets 420 with UNKNOWN-ATTRIBUTES (RFC 5389 7.3.1). Anything that is not a
Binding request — garbage, responses, indications, other methods — gets nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from natsim.probes.stun import codec
from natsim.probes.stun.judges import Address

#: (address index, port index): (0, 0) is the primary address and port.
Slot = tuple[int, int]
#: CHANGE-REQUEST's attribute type, listed in UNKNOWN-ATTRIBUTES by a server with one address.
CHANGE_REQUEST_TYPE = 0x0003


@dataclass(frozen=True)
class Reply:
    """A datagram to send: from which slot, to where, what; ``note`` says what it answers (the log)."""

    slot: Slot
    to: Address
    data: bytes
    note: str


class Responder:
    """The answers of a server listening on ``slots`` (slot → its address and port): one slot, or all
    four of two addresses times two ports."""

    def __init__(self, slots: Mapping[Slot, Address]) -> None:
        if set(slots) not in ({(0, 0)}, {(0, 0), (0, 1), (1, 0), (1, 1)}):
            raise ValueError(f"a STUN server listens on one slot or on four, not {sorted(slots)}")
        self.slots = dict(slots)
        self.alternate = len(slots) == 4

    def reply(self, data: bytes, source: Address, slot: Slot) -> Reply | None:
        """The reply to ``data`` from ``source`` that reached ``slot`` (None: nothing is sent)."""
        message = codec.decode(data)
        if message is None or message.message_method != codec.Method.BINDING \
                or message.message_class != codec.Class.REQUEST:
            return None
        unknown = codec.unknown_required(data)
        if unknown:
            return self._error(message, source, slot, 420, "Unknown Attribute", unknown)
        attrs = message.attributes
        flags = int(attrs.get("CHANGE-REQUEST", 0))
        change = (bool(flags & codec.CHANGE_IP), bool(flags & codec.CHANGE_PORT))
        if any(change) and not self.alternate:
            return self._error(message, source, slot, 420, "Unknown Attribute", [CHANGE_REQUEST_TYPE])
        port = attrs.get("RESPONSE-PORT")
        if port is not None and "PADDING" in attrs:
            return self._error(message, source, slot, 400, "Bad Request: PADDING with RESPONSE-PORT")
        if port == 0:
            return self._error(message, source, slot, 400, "Bad Request: RESPONSE-PORT 0")
        out = (slot[0] ^ change[0], slot[1] ^ change[1])
        origin = self.slots[out]
        response: dict[str, Any] = {"MAPPED-ADDRESS": source, "XOR-MAPPED-ADDRESS": source}
        if origin[0] != "0.0.0.0":
            response["RESPONSE-ORIGIN"] = origin
        if self.alternate:
            response["OTHER-ADDRESS"] = self.slots[(1 - slot[0], 1 - slot[1])]
        answer = codec.Message(codec.Method.BINDING, codec.Class.RESPONSE, message.transaction_id, response)
        if "PADDING" in attrs:
            room = len(data) - len(bytes(answer)) - 12   # PADDING's header (4 bytes), FINGERPRINT (8)
            answer.attributes["PADDING"] = bytes(max(0, room - room % 4))
        to = (source[0], int(port) if port is not None else source[1])
        note = _note(flags, port, origin, to)
        return Reply(out, to, codec.encode(answer), note)

    def _error(self, message: codec.Message, source: Address, slot: Slot, code: int, reason: str,
               unknown: list[int] | None = None) -> Reply:
        attrs: dict[str, Any] = {"ERROR-CODE": (code, reason)}
        if unknown:
            attrs["UNKNOWN-ATTRIBUTES"] = unknown
        error = codec.Message(codec.Method.BINDING, codec.Class.ERROR, message.transaction_id, attrs)
        return Reply(slot, source, codec.encode(error), f"error {code} {reason}")


def _note(flags: int, port: Any, origin: Address, to: Address) -> str:
    asked = [name for bit, name in ((codec.CHANGE_IP, "change-ip"), (codec.CHANGE_PORT, "change-port"))
             if flags & bit]
    if port is not None:
        asked.append(f"response-port {port}")
    return (f"binding{' ' + ', '.join(asked) if asked else ''}: answered from {origin[0]}:{origin[1]} "
            f"to {to[0]}:{to[1]}")
