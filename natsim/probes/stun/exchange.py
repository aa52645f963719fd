"""What the RFC 5780 tests need of a network: local UDP sockets and Binding exchanges, as plain data.

:mod:`.discovery` runs the tests against a :class:`StunNetwork`; :mod:`.udp` is the real one (asyncio
sockets, aioice's codec), and the unit tests give a fake one with a NAT in it. Nothing here knows the
wire format.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from natsim.probes.stun.judges import Address


class Outcome(enum.StrEnum):
    """What came of one exchange."""

    ANSWERED = "answered"              # a success response carrying the request's transaction id
    REQUEST = "request"                # the request itself arrived (hairpinning)
    ERROR_RESPONSE = "error response"  # an error response (e.g. 420: the server is no RFC 5780 server)
    NO_ANSWER = "no answer"            # nothing, retransmissions included, within the timeout
    REFUSED = "refused"                # ICMP port unreachable: nothing listens there, or a NAT refused it
    GARBAGE = "garbage"                # only datagrams that are no STUN message arrived
    SEND_FAILED = "send failed"        # the local system refused to send (no route, ...)


@dataclass(frozen=True)
class Ask:
    """A Binding request's RFC 5780 attributes: CHANGE-REQUEST flags, RESPONSE-PORT, PADDING."""

    change_ip: bool = False
    change_port: bool = False
    response_port: int | None = None
    padding: bool = False

    def describe(self) -> str:
        """``change IP and port``, ``response port 40000``, ``plain``."""
        parts = []
        if self.change_ip or self.change_port:
            parts.append("change " + " and ".join(n for n, f in (("IP", self.change_ip),
                                                                  ("port", self.change_port)) if f))
        if self.response_port is not None:
            parts.append(f"response port {self.response_port}")
        if self.padding:
            parts.append("padded")
        return ", ".join(parts) or "plain"


@dataclass(frozen=True)
class Answer:
    """What answered an exchange: the outcome, where the datagram came from, and the addresses the
    response carried (XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS; OTHER-ADDRESS; RESPONSE-ORIGIN)."""

    outcome: Outcome
    source: Address | None = None
    mapped: Address | None = None
    other: Address | None = None
    origin: Address | None = None
    detail: str = ""

    @property
    def arrived(self) -> bool:
        """A success response or the request itself arrived."""
        return self.outcome in (Outcome.ANSWERED, Outcome.REQUEST)


class Endpoint(Protocol):
    """A local UDP socket."""

    @property
    def local(self) -> Address:
        """Its own address and port."""
        ...

    def close(self) -> None:
        """Close it."""
        ...


class StunNetwork(Protocol):
    """Local sockets, Binding exchanges and a wall clock."""

    async def open(self) -> Endpoint:
        """A new local socket (a new port)."""
        ...

    async def exchange(self, sender: Endpoint, dest: Address, ask: Ask,
                       receiver: Endpoint | None = None) -> Answer:
        """Send a Binding request from ``sender`` to ``dest`` (retransmitting as STUN does) and wait for
        what answers it at ``receiver`` (default ``sender``): a response with its transaction id,
        or the request itself."""
        ...

    def now(self) -> float:
        """Monotonic wall-clock seconds."""
        ...

    async def sleep_until(self, when: float) -> None:
        """Return at ``when`` (:meth:`now` time)."""
        ...
