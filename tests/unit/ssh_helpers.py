"""Shared helpers for the SSH unit tests: a proxy and backends on 127.0.0.1, in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Sequence

import asyncssh

from natsim.probes.ssh.goserver import start_server
from natsim.proxy.bypass import RecordingBypass
from natsim.proxy.daemon import ProxyServer
from natsim.proxy.settings import Limits, ProxySettings
from natsim.proxy.sockets import FixedUpstream

LOCAL = "127.0.0.1"
GEX = ("diffie-hellman-group-exchange-sha256", "diffie-hellman-group-exchange-sha1",
       "curve25519-sha256")


def same_key(a: str, b: str) -> bool:
    """Whether two OpenSSH public-key texts (``type base64 [comment]``) name the same key."""
    def core(text: str) -> tuple[str, ...]:
        return tuple(re.split(r"\s+", text.strip())[:2])
    return bool(a.strip()) and core(a) == core(b)


def port_of(acceptor: asyncssh.SSHAcceptor) -> int:
    """The port an asyncssh acceptor listens on."""
    return int(acceptor.sockets[0].getsockname()[1])


@contextlib.asynccontextmanager
async def backend(kex: Sequence[str] | None = None) -> AsyncIterator[int]:
    """A go-ssh-like backend (its Go kex list unless ``kex`` is given); yields its port."""
    server = await start_server(LOCAL, 0, kex=tuple(kex) if kex else
                                __import__("natsim.probes.ssh.wire", fromlist=["x"]).GO_SERVER_KEX)
    try:
        yield port_of(server)
    finally:
        server.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def proxy(backend_port: int, *, config: str = "{}", limits: Limits | None = None,
                time_scale: float = 60.0) -> AsyncIterator[tuple[ProxyServer, RecordingBypass, int]]:
    """The proxy daemon in this loop, fixed upstream, recording bypasses; yields (server, bypass, port)."""
    settings = ProxySettings.from_json(config, time_scale, limits or Limits(sniff_timeout=1.0,
                                                                            fin_linger=0.5))
    bypass = RecordingBypass()
    server = ProxyServer(settings, asyncssh.generate_private_key("ssh-ed25519"),
                         FixedUpstream(LOCAL, backend_port), bypass)
    await server.start(LOCAL, 0)
    task = asyncio.ensure_future(server.serve())
    try:
        yield server, bypass, server.address[1]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
