"""``pip install natsim`` without extras: the probes, the probe server and the model work on their
own (no Mininet, matplotlib or asyncssh), and a command that needs an extra says which one.

The missing distributions are simulated: a ``sitecustomize`` on PYTHONPATH makes importing them fail
as if they were not installed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.unit.netutil import stop

BLOCKED = ("mininet", "matplotlib", "asyncssh", "scapy", "rich")
SITECUSTOMIZE = f'''
import sys
class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, _NotInstalled())
'''


@pytest.fixture
def light_env(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return {**os.environ, "PYTHONPATH": str(site)}


def natsim(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "natsim.cli", *args], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_blocker_works(light_env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-c", "import matplotlib"], env=light_env, capture_output=True,
                          text=True, check=False)
    assert "ModuleNotFoundError" in done.stderr


def test_serve_and_probe_talk_on_loopback_without_extras(light_env: dict[str, str], tmp_path: Path) -> None:
    echo, sleep = free_port(), free_port()
    server = subprocess.Popen([sys.executable, "-m", "natsim.cli", "serve", "--bind", "127.0.0.1",
                               "--echo-port", str(echo), "--sleep-port", str(sleep),
                               "--udp-port", "0", "--quiet"],
                              env=light_env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", echo), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        out = tmp_path / "send.json"
        done = natsim(light_env, "probe", "send", "--server", "127.0.0.1", "--port", str(echo),
                      "--connections", "2", "--first", "1m", "--step", "1m", "--time-scale", "60",
                      "--out", str(out))
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        stop(server)
    result = json.loads(out.read_text())
    assert [c["verdict"] for c in result["probes"][0]["connections"]] == ["alive", "alive"]


def test_stun_server_and_nat_type_talk_on_loopback_without_extras(light_env: dict[str, str],
                                                                  tmp_path: Path) -> None:
    """What a VPS runs: ``natsim serve --stun`` (two loopback addresses, free ports) and the probe."""
    server = subprocess.Popen([sys.executable, "-m", "natsim.cli", "-v", "serve", "--stun-only",
                               "--stun-address", "127.0.0.1", "--stun-alt-address", "127.0.0.2",
                               "--stun-port", "0", "--stun-alt-port", "0"],
                              env=light_env, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        line = server.stderr.readline()     # natsim: listening: stun 127.0.0.1:P, 127.0.0.2:P, ...
        assert "listening: stun 127.0.0.1:" in line, line
        port = line.split("127.0.0.1:")[1].split(",")[0]
        out = tmp_path / "nat.json"
        done = natsim(light_env, "probe", "nat-type", "--stun", f"127.0.0.1:{port}", "--timeout", "1",
                      "--out", str(out))
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        stop(server)
        if server.stderr is not None:
            server.stderr.close()
    extra = json.loads(out.read_text())["probes"][0]["extra"]
    assert (extra["mapping"], extra["filtering"], extra["classic"]) == \
        ("endpoint-independent", "endpoint-independent", "open internet")
    assert "classic: open internet" in done.stdout


def test_the_model_needs_no_extra(light_env: dict[str, str]) -> None:
    done = natsim(light_env, "predict", "isp-modem-bridge-1h")
    assert done.returncode == 0, done.stderr
    assert "estimate: idle timeout between 59m and 1h" in done.stdout


def test_a_command_that_needs_an_extra_says_which(light_env: dict[str, str]) -> None:
    done = natsim(light_env, "lab", "home-nat", "--run", "client true")
    assert done.returncode == 2
    assert "pip install 'natsim[lab]'" in done.stderr and "Traceback" not in done.stderr
