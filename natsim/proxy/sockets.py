"""Sockets for transparent interception (tproxy + ``IP_TRANSPARENT``).

The firewall's nft rule diverts a client's SYN with ``tproxy`` to the daemon's listener; the
accepted socket's local address is the server the client asked for. Towards the backend the
daemon binds the client's address (``IP_TRANSPARENT``), so the server sees the client, and the
``socket transparent 1`` rule delivers the replies back to the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass
from typing import Protocol

from natsim.errors import ProxyError

IP_TRANSPARENT = getattr(socket, "IP_TRANSPARENT", 19)

Address = tuple[str, int]


def listener(host: str, port: int, *, transparent: bool, backlog: int = 512) -> socket.socket:
    """A non-blocking listening socket; ``transparent`` makes it accept tproxy-diverted flows."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if transparent:
            sock.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError as err:
        sock.close()
        raise ProxyError(f"cannot listen on {host}:{port} (transparent={transparent}): {err}") from err
    return sock


class Upstream(Protocol):
    """Decides where an accepted connection was going and how to reach it."""

    @property
    def transparent(self) -> bool:
        """Whether to bind the client's address towards the backend (tproxy mode)."""
        ...

    def destination(self, client: socket.socket) -> Address:
        """The server the client asked for."""
        ...


@dataclass(frozen=True)
class TransparentUpstream:
    """tproxy: the accepted socket's local address is the original destination."""

    transparent: bool = True

    def destination(self, client: socket.socket) -> Address:
        """The original destination (the local address tproxy gave the socket)."""
        host, port = client.getsockname()[:2]
        return str(host), int(port)


@dataclass(frozen=True)
class FixedUpstream:
    """A fixed backend (tests on 127.0.0.1, or the daemon used as an explicit proxy)."""

    host: str
    port: int
    transparent: bool = False

    def destination(self, client: socket.socket) -> Address:
        """Always the configured backend."""
        return self.host, self.port


async def connect_backend(dest: Address, source: str | None, timeout: float) -> socket.socket:
    """Connect to ``dest``; with ``source``, bind the client's address first (``IP_TRANSPARENT``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        if source is not None:
            sock.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
            sock.bind((source, 0))
        await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, dest), timeout)
    except TimeoutError as err:
        sock.close()
        raise ProxyError(f"backend {dest[0]}:{dest[1]} did not answer within {timeout:g} s") from err
    except OSError as err:
        sock.close()
        raise ProxyError(f"backend {dest[0]}:{dest[1]}: {err.strerror or err}") from err
    except BaseException:
        sock.close()
        raise
    return sock


def send_fin(sock: socket.socket) -> None:
    """Half-close: send FIN now, keep reading (closing with unread data would send RST)."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
