"""The proxy daemon: accept diverted connections, sniff, then MITM, relay or give up — and log it.

One log line per session, e.g.::

    session=7 client=192.0.2.10:40112 server=203.0.113.20:2222 kind=ssh outcome=kex-mismatch
    bypass=3754.2s(62.570s lab) secs=0.031 reason="No matching key exchange algorithm found"

Every per-session failure is caught and logged; the daemon keeps serving other clients, and every
socket it opened is closed in ``finally`` (tests count ``/proc/<pid>/fd``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import time
from collections import Counter
from dataclasses import dataclass, field

import asyncssh

from natsim.proxy.bypass import Bypass
from natsim.proxy.mitm import MitmSession
from natsim.proxy.relay import relay
from natsim.proxy.settings import BypassDuration, ProxySettings
from natsim.proxy.sniff import Kind, sniff
from natsim.proxy.sockets import Upstream, connect_backend, listener

log = logging.getLogger("natsim.proxy")


@dataclass
class SessionLog:
    """What one session did; rendered as one ``key=value`` line."""

    number: int
    client: tuple[str, int]
    server: tuple[str, int]
    kind: str = "?"
    outcome: str = "?"
    started: float = field(default_factory=time.monotonic)
    extra: dict[str, str] = field(default_factory=dict)

    def line(self) -> str:
        """``session=N client=... server=... kind=... outcome=... secs=... key=value...``."""
        parts = [f"session={self.number}", f"client={self.client[0]}:{self.client[1]}",
                 f"server={self.server[0]}:{self.server[1]}", f"kind={self.kind}",
                 f"outcome={self.outcome}", f"secs={time.monotonic() - self.started:.3f}"]
        for key, value in self.extra.items():
            text = str(value)
            parts.append(f"{key}={text!r}" if (" " in text or not text) else f"{key}={text}")
        return " ".join(parts)


class ProxyServer:
    """The daemon; ``await server.start(host, port)`` then ``await server.serve()``."""

    def __init__(self, settings: ProxySettings, host_key: asyncssh.SSHKey, upstream: Upstream,
                 bypass: Bypass) -> None:
        self.settings = settings
        self.host_key = host_key
        self.upstream = upstream
        self.bypass = bypass
        self.durations = BypassDuration(settings)
        self.outcomes: Counter[str] = Counter()
        self.active = 0
        self._numbers = itertools.count(1)
        self._sock: socket.socket | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> tuple[str, int]:
        """Where the listener is bound."""
        assert self._sock is not None
        host, port = self._sock.getsockname()[:2]
        return str(host), int(port)

    async def start(self, host: str, port: int) -> None:
        """Open the listener (transparent when the upstream is)."""
        self._sock = listener(host, port, transparent=self.upstream.transparent)

    async def serve(self) -> None:
        """Accept until cancelled; each client is handled in its own task."""
        assert self._sock is not None
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    client, _ = await loop.sock_accept(self._sock)
                except OSError as err:  # EMFILE and friends: log, back off, keep serving
                    log.error("accept failed: %s", err)
                    await asyncio.sleep(0.1)
                    continue
                task = asyncio.create_task(self.handle(client))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop accepting and end every session."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task

    async def handle(self, client: socket.socket) -> None:
        """Serve one accepted connection; never raises (except cancellation)."""
        client.setblocking(False)
        try:
            peer = client.getpeername()
            dest = self.upstream.destination(client)
        except OSError:
            client.close()
            return
        entry = SessionLog(next(self._numbers), (str(peer[0]), int(peer[1])), dest)
        self.active += 1
        try:
            if self.active > self.settings.limits.max_sessions:
                entry.kind, entry.outcome = "?", "refused"
                entry.extra["reason"] = f"more than {self.settings.limits.max_sessions} sessions"
                return
            kind = await sniff(client, self.settings.limits.sniff_timeout)
            entry.kind = kind.value
            if kind is Kind.CLOSED:
                entry.outcome = "client-closed"
            elif kind is Kind.SSH and self.settings.intercepts(dest[1]):
                await self._mitm(client, entry)
            else:
                await self._relay(client, entry)
        except asyncio.CancelledError:
            entry.outcome = entry.outcome if entry.outcome != "?" else "cancelled"
            raise
        except Exception as err:  # a bug in one session must not stop the daemon
            entry.outcome = "internal-error"
            entry.extra["reason"] = repr(err)
            log.exception("session %d failed", entry.number)
        finally:
            self.active -= 1
            client.close()
            self.outcomes[entry.outcome] += 1
            log.info("%s", entry.line())

    async def _relay(self, client: socket.socket, entry: SessionLog) -> None:
        source = entry.client[0] if self.upstream.transparent else None
        try:
            backend = await connect_backend(entry.server, source, self.settings.limits.connect_timeout)
        except Exception as err:
            entry.outcome, entry.extra["reason"] = "backend-failed", str(err)
            return
        try:
            up, down = await relay(client, backend)
        finally:
            backend.close()
        entry.outcome = "relayed"
        entry.extra["bytes"] = f"{up}/{down}"

    async def _mitm(self, client: socket.socket, entry: SessionLog) -> None:
        source = entry.client[0] if self.upstream.transparent else None
        limits = self.settings.limits
        backend_socks: list[socket.socket] = []

        async def open_backend() -> socket.socket:
            sock = await connect_backend(entry.server, source, limits.connect_timeout)
            backend_socks.append(sock)
            return sock

        async def on_disagree() -> None:
            real, lab_ms = self.durations.draw()
            try:
                await self.bypass.add(entry.client[0], entry.server[0], entry.server[1], lab_ms)
                entry.extra["bypass"] = f"{real:.1f}s({lab_ms / 1000:.3f}s lab)"
            except Exception as err:
                entry.extra["bypass"] = f"failed: {err}"
                log.error("session %d: bypass failed: %s", entry.number, err)

        session = MitmSession(self.settings, self.host_key, open_backend, on_disagree)
        try:
            outcome = await session.run(client)
        finally:
            for sock in backend_socks:
                sock.close()
        entry.outcome = outcome.value
        entry.extra.update(user=session.username, client_sw=session.client_software,
                           backend_sw=session.backend_software, channels=str(session.channels))
        if session.reason:
            entry.extra["reason"] = session.reason
