"""The controller's side of :mod:`natsim.conform.agent`: one agent process per lab node."""

from __future__ import annotations

import json
import select
import subprocess
import sys
from typing import Any

from natsim.errors import LabError
from natsim.lab.lab import Lab, LabProcess


class Agent:
    """An agent process in one lab node, spoken to over JSON lines."""

    def __init__(self, lab: Lab, node: str) -> None:
        self.node = node
        self.proc: LabProcess = lab.popen(node, [sys.executable, "-m", "natsim.conform.agent"],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL)
        hello = self._read()
        if not hello.get("ready"):
            raise LabError(f"conformance agent in {node} did not start: {hello}")

    def _read(self, timeout: float = 60.0) -> dict[str, Any]:
        stdout = self.proc.popen.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], timeout)
        if not ready:
            raise LabError(f"conformance agent in {self.node} did not answer within {timeout:g} s")
        line = stdout.readline()
        if not line:
            raise LabError(f"conformance agent in {self.node} exited (code {self.proc.popen.poll()})")
        result: dict[str, Any] = json.loads(line)
        return result

    def __call__(self, op: str, **args: Any) -> dict[str, Any]:
        """Run ``op`` in the agent and return its answer."""
        stdin = self.proc.popen.stdin
        assert stdin is not None
        stdin.write((json.dumps({"op": op, **args}) + "\n").encode())
        stdin.flush()
        return self._read()

    def close(self) -> None:
        """Stop the agent."""
        if self.proc.popen.stdin is not None:
            self.proc.popen.stdin.close()
        self.proc.stop()
