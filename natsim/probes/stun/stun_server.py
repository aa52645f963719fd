"""``natsim serve --stun``: an RFC 5389/5780 STUN server on UDP, built for a public host.

One socket per slot (:mod:`.answers`: the primary address and port, and with ``alt_address`` the
four of two addresses times two ports), all in one asyncio loop. Unprivileged (ports above 1024), a
token bucket per source address (:mod:`.ratelimit`), never an answer larger than the request plus the
response's fixed attributes, one log line per request answered (``natsim -v serve``, or the log of a
lab's server); garbage and refused requests are logged at debug level only.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from natsim.errors import ProbeError
from natsim.probes.stun.answers import Responder, Slot
from natsim.probes.stun.judges import Address
from natsim.probes.stun.ports import StunConfig
from natsim.probes.stun.ratelimit import RateLimiter

log = logging.getLogger("natsim.serve")

#: Tries to find a port free on both addresses when a port is 0 (tests: ephemeral ports).
BIND_TRIES = 20


class _Socket(asyncio.DatagramProtocol):
    """One slot's socket: hands each datagram to the server."""

    def __init__(self, server: StunServer, slot: Slot) -> None:
        self.server, self.slot = server, slot

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        """A datagram for this slot."""
        self.server.received(data, (str(addr[0]), int(addr[1])), self.slot)

    def error_received(self, exc: Exception) -> None:
        """A send the system refused (e.g. no route back): nothing to do but say so."""
        log.debug("stun: send refused: %s", exc)


class StunServer:
    """The STUN server: :meth:`start`, then it serves until :meth:`close`."""

    def __init__(self, config: StunConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self.limiter = RateLimiter(config.rate, 2 * config.rate)
        self.transports: dict[Slot, asyncio.DatagramTransport] = {}
        self.slots: dict[Slot, Address] = {}
        self.responder: Responder | None = None
        self.answered = self.ignored = self.limited = 0

    async def start(self) -> None:
        """Bind every slot's socket; :class:`ProbeError` when one cannot be bound."""
        for attempt in range(BIND_TRIES):
            try:
                await self._bind()
                break
            except OSError as err:
                self.close()
                ephemeral = 0 in (self.config.port, self.config.alt_port)
                if not (ephemeral and err.errno == errno.EADDRINUSE and attempt + 1 < BIND_TRIES):
                    raise ProbeError(f"the STUN server cannot listen: {err.strerror or err}") from err
        self.responder = Responder(self.slots)
        log.info("listening: stun %s", ", ".join(f"{a}:{p}" for a, p in self.slots.values()))

    async def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        addresses = [self.config.address] + ([self.config.alt_address] if self.config.alt_address else [])
        ports = [self.config.port] + ([self.config.alt_port] if self.config.alt_address else [])
        for p in range(len(ports)):
            for a, address in enumerate(addresses):
                transport, _ = await loop.create_datagram_endpoint(
                    functools.partial(_Socket, self, (a, p)), local_addr=(address, ports[p]),
                    family=socket.AF_INET)
                self.transports[(a, p)] = transport
                ports[p] = int(transport.get_extra_info("sockname")[1])
                self.slots[(a, p)] = (address, ports[p])

    @property
    def ports(self) -> tuple[int, int | None]:
        """The primary and (with an alternate address) the alternate port it listens on."""
        return self.slots[(0, 0)][1], self.slots[(0, 1)][1] if (0, 1) in self.slots else None

    def received(self, data: bytes, source: Address, slot: Slot) -> None:
        """Answer one datagram (or not)."""
        if self.responder is None or slot not in self.transports:
            return
        if not self.limiter.allow(source[0], self.clock()):
            self.limited += 1
            log.debug("stun: %s:%d over its rate, dropped", *source)
            return
        reply = self.responder.reply(data, source, slot)
        if reply is None:
            self.ignored += 1
            log.debug("stun: %d bytes from %s:%d ignored: no STUN Binding request", len(data), *source)
            return
        self.answered += 1
        self.transports[reply.slot].sendto(reply.data, reply.to)
        here = self.slots[slot]
        log.info("stun %s:%d -> %s:%d %s", *source, *here, reply.note)

    def close(self) -> None:
        """Close every socket."""
        for transport in self.transports.values():
            transport.close()
        self.transports.clear()
        self.slots.clear()
