"""One side of a WireGuard tunnel in the model: the outer datagrams wireguard-go sends and when.

What decides whether a NAT keeps a tunnel's mapping is *when* outer datagrams cross it, and that is
wireguard-go's timers (``device/timers.go``; constants from ``device/constants.go``), modelled here:

* a handshake (initiation, response) before the first data; the initiator then sends what waited, or
  a keepalive; an unanswered initiation is re-sent every ``REKEY_TIMEOUT``;
* **passive keepalive**: ``KEEPALIVE_TIMEOUT`` after data was received, unless any authenticated
  packet was sent meanwhile;
* **new handshake**: ``KEEPALIVE_TIMEOUT + REKEY_TIMEOUT`` after data was sent, unless any
  authenticated packet was received meanwhile (wireguard-go adds up to 334 ms of jitter, not modelled);
* **persistent keepalive**: ``k`` after any authenticated packet sent or received;
* the responder learns its peer's endpoint from every authenticated packet (roaming).

These timers are wall-clock in a lab (a lab cannot scale wireguard-go), so the model holds them at lab
speed (× time scale). Rekeying after 120 s is not modelled: the probe refuses idles that reach it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import simpy

#: wireguard-go's timers (seconds, wall-clock: ``device/constants.go``).
KEEPALIVE_TIMEOUT = 10.0
REKEY_TIMEOUT = 5.0
REKEY_AFTER_TIME = 120.0
#: Initiations sent for one handshake before wireguard-go gives up (``MaxTimerHandshakes`` + 1).
MAX_INITIATIONS = 90 // 5 + 1
#: Outer message types (first byte of an outer datagram in the model).
INITIATION, RESPONSE, KEEPALIVE, DATA = b"I", b"R", b"K", b"D"

#: ``send(message, inner, what)``: put one outer datagram on the wire towards the peer (``what``:
#: ``handshake initiation``, ``handshake response``, ``data``, ``keepalive``).
Sender = Callable[[bytes, bytes, str], None]


@dataclass
class Peer:
    """One side of one tunnel: ``initiator`` (the client) or the responder; ``deliver`` gets the inner
    datagrams that arrive; ``speed``: real-world seconds per wall second of wireguard-go's timers."""

    env: simpy.Environment
    send_outer: Sender
    deliver: Callable[[bytes], None]
    initiator: bool
    speed: float
    persistent: float = 0.0          # PersistentKeepalive (real-world seconds; 0: off)
    session: bool = False
    handshaking: bool = False
    staged: list[bytes] = field(default_factory=list)
    armed: dict[str, float] = field(default_factory=dict)   # timer → when it fires
    initiations: int = 0
    stopped: bool = False

    def stop(self) -> None:
        """The interface goes away: no more timers, no more datagrams."""
        self.stopped = True
        self.armed.clear()

    # ---- what the application does --------------------------------------------------------------

    def send(self, inner: bytes) -> None:
        """Send an inner datagram (staged until a session exists)."""
        if self.session:
            self._transport(DATA, inner)
        else:
            self.staged.append(inner)
            if self.initiator and not self.handshaking:
                self._initiate()

    def up(self) -> None:
        """The interface comes up: with a persistent keepalive, wireguard-go sends one at once."""
        if self.persistent:
            self._keepalive()

    # ---- what arrives ----------------------------------------------------------------------------

    def receive(self, message: bytes, inner: bytes) -> None:
        """An outer datagram from the peer."""
        if self.stopped:
            return
        self._traversal()
        self._cancel("new-handshake")                    # any authenticated packet received
        if message == INITIATION:
            self._transmit(RESPONSE, b"", "handshake response")
        elif message == RESPONSE:
            self.handshaking, self.session = False, True
            self._cancel("retransmit")
            staged, self.staged = self.staged, []
            for datagram in staged:
                self._transport(DATA, datagram)
            if not staged:
                self._transport(KEEPALIVE, b"")
        else:
            self.session = True                          # a responder's session is confirmed
            if message == DATA:
                if "passive-keepalive" not in self.armed:
                    self._arm("passive-keepalive", KEEPALIVE_TIMEOUT * self.speed)
                self.deliver(inner)

    # ---- timers ----------------------------------------------------------------------------------

    def _arm(self, name: str, after: float) -> None:
        when = self.env.now + after
        self.armed[name] = when
        self.env.timeout(after).callbacks.append(lambda _: self._fire(name, when))

    def _cancel(self, name: str) -> None:
        self.armed.pop(name, None)

    def _fire(self, name: str, when: float) -> None:
        if self.stopped or self.armed.get(name) != when:
            return                                       # cancelled or re-armed since
        del self.armed[name]
        if name == "retransmit" and self.initiations >= MAX_INITIATIONS:
            self.handshaking, self.staged = False, []    # wireguard-go gives up on this handshake
        elif name in ("new-handshake", "retransmit"):
            self._initiate(again=name == "retransmit")
        else:
            self._keepalive()

    def _traversal(self) -> None:
        if self.persistent:
            self._arm("persistent-keepalive", self.persistent)

    # ---- what goes out ---------------------------------------------------------------------------

    def _keepalive(self) -> None:
        if self.session:
            self._transport(KEEPALIVE, b"")
        elif self.initiator and not self.handshaking:
            self._initiate()

    def _initiate(self, *, again: bool = False) -> None:
        self.initiations = self.initiations + 1 if again else 1
        self.handshaking = True
        self._transmit(INITIATION, b"", "handshake initiation")
        self._arm("retransmit", REKEY_TIMEOUT * self.speed)

    def _transport(self, message: bytes, inner: bytes) -> None:
        self._transmit(message, inner, "data" if message == DATA else "keepalive")
        if message == DATA and "new-handshake" not in self.armed:
            self._arm("new-handshake", (KEEPALIVE_TIMEOUT + REKEY_TIMEOUT) * self.speed)

    def _transmit(self, message: bytes, inner: bytes, what: str) -> None:
        if self.stopped:
            return
        self._traversal()
        self._cancel("passive-keepalive")                # any authenticated packet sent
        self.send_outer(message, inner, what)
