"""Small socket helpers shared by the unit tests (loopback only)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Callable
from typing import Any


def wait_accepting(port: int, host: str = "127.0.0.1", tries: int = 100) -> None:
    """Wait until something accepts TCP connections on ``host:port`` (a server just started)."""
    for _ in range(tries):
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)


def stop(proc: subprocess.Popen[Any]) -> None:
    """Stop a server the test started: SIGTERM, and SIGKILL if it has not gone within 10 s (a loaded
    machine must not leave it running after the test)."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


async def eventually(condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Return as soon as ``condition()`` holds (checked every 10 ms); fail after ``timeout`` seconds.
    Waits for a state to be reached, never for a fixed time."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"not reached within {timeout:g} s: {what}"
        await asyncio.sleep(0.01)


def eventually_sync(condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """:func:`eventually` outside an event loop."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not reached within {timeout:g} s: {what}"
        time.sleep(0.01)
