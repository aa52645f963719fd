"""Byte-for-byte relay between two connected sockets, with half-close in both directions."""

from __future__ import annotations

import asyncio
import contextlib
import socket

_CHUNK = 65536


async def relay(a: socket.socket, b: socket.socket) -> tuple[int, int]:
    """Copy a→b and b→a until both directions ended; returns (bytes a→b, bytes b→a).

    The caller keeps ownership of both sockets and closes them.
    """
    results = await asyncio.gather(_pump(a, b), _pump(b, a), return_exceptions=True)
    counts = [r if isinstance(r, int) else 0 for r in results]
    return counts[0], counts[1]


async def _pump(src: socket.socket, dst: socket.socket) -> int:
    loop = asyncio.get_running_loop()
    total = 0
    try:
        while True:
            data = await loop.sock_recv(src, _CHUNK)
            if not data:
                break
            await loop.sock_sendall(dst, data)
            total += len(data)
    except OSError:
        # a reset on one side: reset the other too by closing it abruptly
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        return total
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)
    return total
