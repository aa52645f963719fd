"""Helpers for the root tier: run the idle tool in lab nodes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from natsim.lab import Lab

TOOL = str(Path(__file__).with_name("idle_tool.py"))
PORT = 5555


def start_server(lab: Lab, node: str = "server", user_timeout_ms: int = 3000) -> Any:
    """Start the idle tool's server in ``node`` and wait until it listens."""
    proc = lab.popen(node, [sys.executable, TOOL, "server", str(PORT), str(user_timeout_ms)])
    lab.wait_port(node, PORT, proc, timeout=4.0)
    return proc


def run_client(lab: Lab, target: str, specs: list[str], *, node: str = "client", keepalive: int = 0,
               user_timeout_ms: int = 3000, timeout: float = 400) -> dict[str, str]:
    """Run the idle tool's client; return spec → verdict."""
    argv = [sys.executable, TOOL, "client", target, str(PORT), str(user_timeout_ms), str(keepalive), *specs]
    proc = lab.popen(node, argv)
    out, err = proc.popen.communicate(timeout=timeout)
    results = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    assert len(results) == len(specs), f"client output: {out!r} {err!r}"
    return {r["spec"]: r["verdict"] for r in results}


def connect_once(lab: Lab, node: str, target: str, port: int) -> str:
    """One connection attempt from ``node``; its verdict (connected, refused, silent, ...)."""
    _, out = lab.run(node, [sys.executable, TOOL, "connect", target, str(port)])
    return str(json.loads(out.strip().splitlines()[-1])["verdict"])
