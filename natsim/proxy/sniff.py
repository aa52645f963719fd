"""Is this connection SSH? Decided from the client's first bytes, peeked (never consumed).

SSH clients speak first (RFC 4253 §4.2: both sides send their identification at once), so the
first bytes are ``SSH-``. Peeking leaves them in the socket for whichever handler takes over.
"""

from __future__ import annotations

import asyncio
import enum
import socket

SSH_PREFIX = b"SSH-"
_POLL = 0.02


class Kind(enum.StrEnum):
    """What the client's first bytes say."""

    SSH = "ssh"          # starts with "SSH-"
    OTHER = "other"      # some other protocol: relay byte-for-byte
    SILENT = "silent"    # nothing within the sniff timeout (a server-speaks-first protocol?)
    CLOSED = "closed"    # the client closed before sending anything


def classify(prefix: bytes) -> Kind | None:
    """The kind of a connection whose first bytes are ``prefix``; None while undecided."""
    if not prefix:
        return None
    n = min(len(prefix), len(SSH_PREFIX))
    if prefix[:n] != SSH_PREFIX[:n]:
        return Kind.OTHER
    return Kind.SSH if n == len(SSH_PREFIX) else None


async def sniff(sock: socket.socket, timeout: float) -> Kind:
    """Peek at ``sock`` (non-blocking) until :func:`classify` decides or ``timeout`` passes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            data = sock.recv(len(SSH_PREFIX), socket.MSG_PEEK)
        except BlockingIOError:
            data = None
        except ConnectionError:
            return Kind.CLOSED
        if data == b"":
            return Kind.CLOSED
        if data:
            kind = classify(data)
            if kind is not None:
                return kind
        remaining = deadline - loop.time()
        if remaining <= 0:
            return Kind.SILENT
        if data:  # an incomplete "SS": the data stays readable, so poll instead of waiting
            await asyncio.sleep(min(_POLL, remaining))
        else:
            await _readable(sock, remaining)


async def _readable(sock: socket.socket, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    fd = sock.fileno()
    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await asyncio.wait_for(ready, timeout)
    except TimeoutError:
        pass
    finally:
        loop.remove_reader(fd)
