"""Small socket helpers shared by the unit tests (loopback only)."""

from __future__ import annotations

import socket
import subprocess
import time
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
