"""The UDP service of ``natsim serve`` (the ``NSU1`` format of :mod:`natsim.probes.udp.datagram`).

One datagram socket answers every flow: ECHO at once, LATER after its delay (divided by the time scale),
KEEP never. Every answer goes to the address the request came from and is no bigger than the request
(no amplification). Delayed answers are capped per source address and in total; anything that is not a
valid request is counted and ignored, never answered and never fatal.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, cast

from natsim.errors import ProbeError
from natsim.probes.udp.datagram import UDP_PORT, answer_to

log = logging.getLogger("natsim.serve")


@dataclass(frozen=True)
class UdpServiceConfig:
    """Settings of the UDP service. Wall-clock seconds unless stated otherwise."""

    bind: str = "0.0.0.0"
    port: int = UDP_PORT
    time_scale: float = 1.0          # real-world seconds per lab second: delays last seconds/scale
    per_source: int = 512            # delayed answers pending per source address
    max_pending: int = 12_000        # delayed answers pending in total

    def __post_init__(self) -> None:
        if self.time_scale <= 0:
            raise ProbeError(f"time scale must be positive, got {self.time_scale}")
        if self.per_source < 1 or self.max_pending < 1:
            raise ProbeError("the per-source and total caps must be at least 1")


@dataclass
class Pending:
    """Delayed answers waiting, per source address."""

    per_source: int
    total: int
    by_source: dict[str, int] = field(default_factory=dict)
    count: int = 0

    def admit(self, source: str) -> bool:
        """Count one more delayed answer to ``source``; False when a cap is reached."""
        if self.count >= self.total or self.by_source.get(source, 0) >= self.per_source:
            return False
        self.by_source[source] = self.by_source.get(source, 0) + 1
        self.count += 1
        return True

    def release(self, source: str) -> None:
        """One delayed answer to ``source`` went out (or was dropped)."""
        left = self.by_source.get(source, 0) - 1
        if left > 0:
            self.by_source[source] = left
        else:
            self.by_source.pop(source, None)
        self.count -= 1


class UdpService(asyncio.DatagramProtocol):
    """The datagram protocol: parse, answer now or later, ignore the rest."""

    def __init__(self, config: UdpServiceConfig) -> None:
        self.config = config
        self.pending = Pending(config.per_source, config.max_pending)
        self.timers: set[asyncio.TimerHandle] = set()
        self.transport: asyncio.DatagramTransport | None = None
        self.ignored = 0    # datagrams not answered: keepalives, and anything that is not a request
        self.refused = 0    # LATER requests over a cap

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (CPython's selector datagram transport does not subclass DatagramTransport, but is one)
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        source = (str(addr[0]), int(addr[1]))
        decided = answer_to(data, source)
        if decided is None:
            self.ignored += 1
            log.debug("udp %s:%d ignored %d bytes", source[0], source[1], len(data))
            return
        reply, seconds = decided
        if seconds == 0:
            self._send(reply, source, "echoed")
            return
        if not self.pending.admit(source[0]):
            self.refused += 1
            log.warning("udp %s:%d later %d s refused: too many pending answers", *source, seconds)
            return
        delay = seconds / self.config.time_scale
        log.info("udp %s:%d later %d s (waiting %g s)", *source, seconds, delay)
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle | None = None

        def due() -> None:
            assert handle is not None
            self.timers.discard(handle)
            self.pending.release(source[0])
            self._send(reply, source, f"answered after {seconds} s")

        handle = loop.call_later(delay, due)
        self.timers.add(handle)

    def _send(self, reply: bytes, source: tuple[str, int], what: str) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.sendto(reply, source)
        log.info("udp %s:%d %s", source[0], source[1], what)

    def error_received(self, exc: Exception) -> None:
        log.debug("udp socket error %s", exc)   # e.g. an ICMP error: the flow's client reports it

    def close(self) -> None:
        """Drop every pending answer and close the socket."""
        for handle in self.timers:
            handle.cancel()
        self.timers.clear()
        if self.transport is not None:
            self.transport.close()


async def start_udp(config: UdpServiceConfig) -> UdpService:
    """Bind the UDP service (port 0 picks a free one: see :func:`udp_port`)."""
    loop = asyncio.get_running_loop()
    try:
        transport, protocol = await loop.create_datagram_endpoint(lambda: UdpService(config),
                                                                  local_addr=(config.bind, config.port))
    except OSError as err:
        raise ProbeError(f"cannot bind UDP {config.bind}:{config.port}: {err}") from err
    protocol.connection_made(transport)   # asyncio calls it soon; the port is wanted now
    log.info("listening: udp %s:%d, time scale %g", config.bind, udp_port(protocol), config.time_scale)
    return protocol


def udp_port(service: UdpService) -> int:
    """The port the service is bound to."""
    assert service.transport is not None
    return int(service.transport.get_extra_info("sockname")[1])
