"""``natsim serve``: the echo and sleep services for the TCP probes, built for a public host.

One asyncio process holds many idle connections cheaply (a :class:`asyncio.Protocol` per
connection, no task, no buffer beyond 64 bytes), caps connections per source address and in total,
never sends more than it received, logs one line per connection event, and needs no privilege
(ports above 1024; it only raises its own soft file limit).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import resource
from dataclasses import dataclass, field

from natsim.errors import ProbeError
from natsim.probes.tcp.protocol import (
    ECHO_PORT,
    REQUEST_MAX,
    SLEEP_PORT,
    BadRequest,
    echo_reply,
    parse_sleep_request,
)

log = logging.getLogger("natsim.serve")


@dataclass(frozen=True)
class ServerConfig:
    """Settings of the probe server. Wall-clock seconds unless stated otherwise."""

    bind: str = "0.0.0.0"
    echo_port: int = ECHO_PORT
    sleep_port: int = SLEEP_PORT
    time_scale: float = 1.0          # real-world seconds per lab second: sleeps last number/scale
    per_source: int = 512            # open connections allowed per source address
    max_connections: int = 12_000    # open connections allowed in total
    request_timeout: float = 30.0    # time a sleep client has to send its request line
    max_idle: float = 26 * 3600.0    # an echo connection silent this long is closed
    backlog: int = 4096

    def __post_init__(self) -> None:
        if self.time_scale <= 0:
            raise ProbeError(f"time scale must be positive, got {self.time_scale}")
        for name in ("per_source", "max_connections"):
            if getattr(self, name) < 1:
                raise ProbeError(f"{name} must be at least 1, got {getattr(self, name)}")


@dataclass
class Admission:
    """Open connections per source address, with a per-source and a total cap."""

    per_source: int
    total: int
    open: dict[str, int] = field(default_factory=dict)
    count: int = 0

    def admit(self, source: str) -> str | None:
        """Count a new connection from ``source``; return why it is refused, or None."""
        if self.count >= self.total:
            return f"server full ({self.total} connections)"
        if self.open.get(source, 0) >= self.per_source:
            return f"source has {self.per_source} connections open"
        self.open[source] = self.open.get(source, 0) + 1
        self.count += 1
        return None

    def release(self, source: str) -> None:
        """Forget one admitted connection from ``source``."""
        left = self.open.get(source, 0) - 1
        if left > 0:
            self.open[source] = left
        else:
            self.open.pop(source, None)
        self.count -= 1


class _Connection(asyncio.Protocol):
    """One accepted connection; subclasses implement the service."""

    service = ""

    def __init__(self, server: ProbeServer) -> None:
        self.server = server
        self.config = server.config
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self.source = ""
        self.admitted = False
        self.timer: asyncio.TimerHandle | None = None

    def event(self, what: str, detail: str = "") -> None:
        """Log one line for a connection event."""
        log.info("%s %s %s%s", self.service, self.peer, what, f" {detail}" if detail else "")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername") or ("?", 0)
        self.source = str(peer[0])
        self.peer = f"{peer[0]}:{peer[1]}"
        refused = self.server.admission.admit(self.source)
        if refused:
            self.event("refused", refused)
            transport.close()
            return
        self.admitted = True
        self.server.transports.add(transport)
        self.event("open")
        self.arm(self.first_timeout(), "idle")

    def first_timeout(self) -> float:
        """Seconds a new connection may stay silent."""
        return self.config.max_idle

    def arm(self, delay: float, why: str) -> None:
        """(Re)start the connection's single timer: on expiry, close with reason ``why``."""
        self.disarm()
        self.timer = self.loop.call_later(delay, self.expire, why)

    def disarm(self) -> None:
        """Stop the timer."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def expire(self, why: str) -> None:
        """Timer expired: close."""
        self.timer = None
        self.finish(f"timeout ({why})")

    def finish(self, what: str, detail: str = "") -> None:
        """Log ``what`` and close cleanly (queued replies are sent first)."""
        self.disarm()
        self.event(what, detail)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def eof_received(self) -> bool | None:
        self.finish("eof")
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        if self.admitted:
            self.admitted = False
            self.server.admission.release(self.source)
            assert self.transport is not None
            self.server.transports.discard(self.transport)
            self.event("closed", f"({exc})" if exc else "")


class EchoConnection(_Connection):
    """Reads once (up to 64 bytes), echoes it, closes. Idle connections are kept."""

    service = "echo"

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        if self.transport.is_closing():
            return
        self.transport.pause_reading()
        reply = echo_reply(data)
        self.transport.write(reply)
        self.finish("echoed", f"{len(reply)} bytes")


class SleepConnection(_Connection):
    """Reads ``N\\n``, sleeps N/time_scale seconds, writes the same bytes back, closes."""

    service = "sleep"

    def __init__(self, server: ProbeServer) -> None:
        super().__init__(server)
        self.buffer = bytearray()
        self.request: bytes | None = None

    def first_timeout(self) -> float:
        return self.config.request_timeout

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        if self.request is not None or self.transport.is_closing():
            return  # input after the request is ignored (never echoed)
        self.buffer += data[:REQUEST_MAX + 1 - len(self.buffer)]
        newline = self.buffer.find(b"\n")
        if newline < 0:
            if len(self.buffer) > REQUEST_MAX:
                self.reject(BadRequest(f"no newline in the first {REQUEST_MAX} bytes"))
            return
        line = bytes(self.buffer[:newline + 1])
        self.buffer.clear()
        try:
            seconds = parse_sleep_request(line)
        except BadRequest as err:
            self.reject(err)
            return
        self.request = line
        self.transport.pause_reading()
        delay = seconds / self.config.time_scale
        self.event("request", f"{seconds} s (sleeping {delay:g} s)")
        self.arm(delay, "reply")

    def reject(self, err: BadRequest) -> None:
        """Close without a reply."""
        self.buffer.clear()
        self.finish("bad-request", str(err))

    def expire(self, why: str) -> None:
        if why == "reply" and self.request is not None and self.transport is not None:
            self.timer = None
            self.transport.write(self.request)
            self.finish("replied", f"{len(self.request)} bytes")
            return
        super().expire(why)

    def eof_received(self) -> bool | None:
        if self.request is not None:
            return True  # half-closed after the request: the reply still goes out
        return super().eof_received()


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft open-file limit towards ``wanted`` (never above the hard limit); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return int(soft)


class ProbeServer:
    """The echo and sleep services on one event loop (``async with ProbeServer(cfg) as srv``)."""

    def __init__(self, config: ServerConfig | None = None) -> None:
        self.config = config or ServerConfig()
        self.admission = Admission(self.config.per_source, self.config.max_connections)
        self.transports: set[asyncio.Transport] = set()
        self.servers: list[asyncio.Server] = []

    async def start(self) -> None:
        """Listen on both ports (port 0 picks free ones; see :attr:`ports`)."""
        limit = raise_fd_limit(self.config.max_connections + 64)
        if limit < self.config.max_connections + 64:
            log.warning("open-file limit is %d: fewer than %d connections fit", limit,
                        self.config.max_connections)
        loop = asyncio.get_running_loop()
        try:
            services: tuple[tuple[int, type[_Connection]], ...] = (
                (self.config.echo_port, EchoConnection), (self.config.sleep_port, SleepConnection))
            for port, kind in services:
                factory = functools.partial(kind, self)
                server = await loop.create_server(factory, self.config.bind, port,
                                                  backlog=self.config.backlog, reuse_address=True)
                self.servers.append(server)
        except OSError as err:
            await self.close()
            raise ProbeError(f"cannot listen on {self.config.bind}: {err}") from err
        echo, sleep = self.ports
        log.info("listening: echo %s:%d, sleep %s:%d, time scale %g, per-source cap %d",
                 self.config.bind, echo, self.config.bind, sleep, self.config.time_scale,
                 self.config.per_source)

    @property
    def ports(self) -> tuple[int, int]:
        """The (echo, sleep) ports actually bound."""
        echo, sleep = (s.sockets[0].getsockname()[1] for s in self.servers)
        return int(echo), int(sleep)

    async def close(self) -> None:
        """Stop listening and drop every open connection."""
        for server in self.servers:
            server.close()
        for transport in list(self.transports):
            transport.abort()
        for server in self.servers:
            await server.wait_closed()
        self.servers.clear()

    async def __aenter__(self) -> ProbeServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def serve_forever(self) -> None:
        """Run until cancelled, then close."""
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()
