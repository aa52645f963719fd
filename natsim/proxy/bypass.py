"""Putting a (client, server, port) tuple into the firewall's nft ``bypass`` set.

The kernel expires the element (``timeout``); bypassed packets never reach the daemon. The daemon
runs inside the firewall's namespace, so ``nft`` here acts on that namespace only.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

from natsim.errors import ProxyError

TABLE = "inet natsim"
SET = "bypass"


def element_command(client: str, server: str, port: int, timeout_ms: int) -> list[str]:
    """argv adding one element with its own timeout (nft accepts milliseconds)."""
    return ["nft", "add", "element", *TABLE.split(), SET,
            f"{{ {client} . {server} . {port} timeout {timeout_ms}ms }}"]


class Bypass(Protocol):
    """Something that lets a tuple pass unproxied for a while."""

    async def add(self, client: str, server: str, port: int, timeout_ms: int) -> None:
        """Bypass (client, server, port) for ``timeout_ms`` lab milliseconds."""
        ...


class NftBypass:
    """Runs ``nft add element`` in the daemon's namespace."""

    async def add(self, client: str, server: str, port: int, timeout_ms: int) -> None:
        """Add the element; raise :class:`ProxyError` when nft refuses."""
        argv = element_command(client, server, port, timeout_ms)
        proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.STDOUT)
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise ProxyError(f"`{' '.join(argv)}` exited {proc.returncode}: {out.decode().strip()}")


@dataclass
class RecordingBypass:
    """Records the tuples (tests, and the daemon's ``--no-nft`` mode)."""

    added: list[tuple[str, str, int, int]] = field(default_factory=list)

    async def add(self, client: str, server: str, port: int, timeout_ms: int) -> None:
        """Remember the tuple."""
        self.added.append((client, server, port, timeout_ms))
