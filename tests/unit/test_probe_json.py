"""Probe tools: ``--json`` is the result on stdout and nothing else there; ``--out FILE`` writes it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from tests.unit.netutil import stop, wait_accepting


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_json_on_stdout_and_out_file_hold_the_same_result(tmp_path: Path) -> None:
    echo, sleep = free_port(), free_port()
    server = subprocess.Popen([sys.executable, "-m", "natsim.probes", "serve", "--bind", "127.0.0.1",
                               "--echo-port", str(echo), "--sleep-port", str(sleep),
                               "--udp-port", "0", "--quiet"])
    try:
        wait_accepting(echo)
        out = tmp_path / "send.json"
        done = subprocess.run([sys.executable, "-m", "natsim.probes", "send", "--server", "127.0.0.1",
                               "--port", str(echo), "--connections", "2", "--first", "1m", "--step", "1m",
                               "--time-scale", "60", "--json", "--out", str(out)],
                              capture_output=True, text=True, timeout=60, check=False)
    finally:
        stop(server)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)             # nothing but the JSON document on stdout
    assert printed == json.loads(out.read_text())
    assert "Connection 0 worked" in done.stderr  # the per-connection lines moved to stderr
