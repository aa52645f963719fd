"""Drive scripted TCP endpoints (``tests/tcp_actor.py``) inside lab nodes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from natsim.lab import Lab
from natsim.lab.lab import LabProcess

ACTOR = str(Path(__file__).with_name("tcp_actor.py"))


def start_listener(lab: Lab, node: str, port: int, steps: list[list[Any]]) -> LabProcess:
    """Start a scripted listener in ``node`` and return once it listens."""
    proc = lab.popen(node, [sys.executable, ACTOR, "listen", str(port), json.dumps(steps)])
    assert proc.popen.stdout is not None
    line = proc.popen.stdout.readline().decode()
    if "listening" not in line:
        raise RuntimeError(f"listener in {node} did not start: {line!r}")
    return proc


def events(proc: LabProcess, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Wait for a scripted endpoint to finish; its JSON event lines."""
    out, err = proc.popen.communicate(timeout=timeout)
    lines = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    if proc.popen.returncode not in (0, None) and not lines:
        raise RuntimeError(f"actor failed: {err.decode()[-500:]}")
    return lines


def run_connector(lab: Lab, node: str, host: str, port: int, steps: list[list[Any]],
                  timeout: float = 60.0) -> list[dict[str, Any]]:
    """Run a scripted client in ``node`` to completion; its events."""
    proc = lab.popen(node, [sys.executable, ACTOR, "connect", host, str(port), json.dumps(steps)])
    return events(proc, timeout)
