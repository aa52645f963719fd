"""One peer of a hole punch on real sockets (``natsim probe hole-punch``): one UDP socket, the
:class:`~natsim.probes.punch.puncher.Puncher` deciding every datagram.

REGISTER goes out every :data:`RESEND_WALL` wall seconds until the rendezvous names the peer (or the
set-up timeout passes); punches then every ``interval`` until the peer heard this one and was heard, or
``duration`` has passed. Once done it lingers one interval to answer a late punch. The socket is
unconnected and does not ask for ICMP errors: a punch refused on the way (an ICMP port unreachable from
the peer's NAT) is silence, as for every peer-to-peer stack that punches from one socket.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import Any

from natsim.errors import ProbeError
from natsim.probes.punch.messages import Address, show
from natsim.probes.punch.puncher import Puncher, Send

#: Wall seconds between two REGISTERs while the rendezvous has no peer for this one.
RESEND_WALL = 0.25


@dataclass(frozen=True)
class PeerRun:
    """Where and how one peer runs (``*_wall``: wall-clock seconds)."""

    rendezvous: Address
    session: int
    duration_wall: float
    interval_wall: float
    setup_timeout_wall: float
    local: Address = ("0.0.0.0", 0)


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, puncher: Puncher) -> None:
        self.puncher = puncher
        self.transport: asyncio.DatagramTransport | None = None
        self.changed = asyncio.Event()
        self.heard_at: float | None = None
        self.log: list[str] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, sends: list[Send]) -> None:
        for data, to in sends:
            assert self.transport is not None
            self.transport.sendto(data, to)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        source = (str(addr[0]), int(addr[1]))
        before = self.puncher.heard_from
        self.send(self.puncher.on_datagram(data, source))
        if before is None and self.puncher.heard_from is not None:
            self.heard_at = asyncio.get_running_loop().time()
            self.log.append(f"heard the peer from {show(source)}")
        self.changed.set()

    def error_received(self, exc: Exception) -> None:
        self.log.append(f"socket error: {exc}")


async def _until(event: asyncio.Event, timeout: float) -> None:
    event.clear()
    try:
        await asyncio.wait_for(event.wait(), max(0.0, timeout))
    except TimeoutError:
        pass


async def run_peer(run: PeerRun, puncher: Puncher) -> tuple[float | None, float]:
    """Register and punch; (wall seconds from the start to the first punch heard or None, wall seconds
    it registered and punched)."""
    loop = asyncio.get_running_loop()
    try:
        transport, sock = await loop.create_datagram_endpoint(lambda: _Socket(puncher), local_addr=run.local,
                                                              family=socket.AF_INET)
    except OSError as err:
        raise ProbeError(f"cannot open a UDP socket on {show(run.local)}: {err.strerror or err}") from err
    start = loop.time()
    try:
        setup_end = start + run.setup_timeout_wall
        while not puncher.paired and puncher.heard_from is None and loop.time() < setup_end:
            sock.send([puncher.register()])
            await _until(sock.changed, min(RESEND_WALL, setup_end - loop.time()))
        if not puncher.paired and puncher.heard_from is None:
            return None, loop.time() - start
        end = loop.time() + run.duration_wall
        while not puncher.done and loop.time() < end:
            sock.send(puncher.tick())
            await asyncio.sleep(max(0.0, min(run.interval_wall, end - loop.time())))
        if puncher.done:
            await asyncio.sleep(run.interval_wall)   # answer a late punch
        heard = None if sock.heard_at is None else sock.heard_at - start
        return heard, loop.time() - start
    finally:
        transport.close()
