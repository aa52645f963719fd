"""Small socket helpers shared by the unit tests (loopback only)."""

from __future__ import annotations

import socket
import time


def wait_accepting(port: int, host: str = "127.0.0.1", tries: int = 100) -> None:
    """Wait until something accepts TCP connections on ``host:port`` (a server just started)."""
    for _ in range(tries):
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
