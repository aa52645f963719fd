"""natsim's relay (ssh's ProxyCommand) records what happened to its TCP connection: an RST, the
server's FIN, ssh hanging up, a refused connect (loopback only)."""

from __future__ import annotations

import errno
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from natsim.probes.ssh.openssh import OpenSshClient
from natsim.probes.ssh.outcome import RelayStatus
from natsim.report.schema import Verdict


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(10)
        yield server


def keepalive_timer(local_port: int, remote_port: int) -> bool:
    """Whether the kernel has a keepalive timer armed on the established connection between the two
    loopback ports (/proc/net/tcp: ``tr`` 2)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, timer = fields[1], fields[2], fields[3], fields[5]
        if int(local.split(":")[1], 16) == local_port and int(remote.split(":")[1], 16) == remote_port \
                and state == "01":
            return timer.split(":")[0] == "02"
    raise AssertionError(f"no connection {local_port} -> {remote_port}")


def start_relay(port: int, status: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "natsim.probes.ssh.proxycommand", "--status", str(status),
                             *extra, "127.0.0.1", str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def test_an_rst_is_recorded_as_econnreset(listener: socket.socket, tmp_path: Path) -> None:
    relay = start_relay(listener.getsockname()[1], tmp_path / "s.json")
    conn, _ = listener.accept()
    assert relay.stdin is not None and relay.stdout is not None
    relay.stdin.write(b"ping")
    relay.stdin.flush()
    assert conn.recv(4) == b"ping"
    conn.sendall(b"pong")
    assert relay.stdout.read(4) == b"pong"
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()                                  # RST
    assert relay.wait(10) == 1
    status = RelayStatus.load(tmp_path / "s.json")
    assert (status.end, status.errno, status.connected) == ("error", errno.ECONNRESET, True)
    assert status.verdict(255) is Verdict.RESET
    relay.stdin.close()
    relay.stdout.close()


def test_the_servers_fin_is_eof_and_sshs_hangup_is_recorded(listener: socket.socket, tmp_path: Path) -> None:
    relay = start_relay(listener.getsockname()[1], tmp_path / "fin.json", "--keepalive")
    conn, peer = listener.accept()
    assert keepalive_timer(peer[1], listener.getsockname()[1])    # SO_KEEPALIVE on the relay's socket
    conn.close()                                  # FIN
    assert relay.wait(10) == 0
    assert RelayStatus.load(tmp_path / "fin.json").verdict(255) is Verdict.EOF
    relay.communicate()
    hung = start_relay(listener.getsockname()[1], tmp_path / "hup.json")
    conn, peer = listener.accept()
    assert not keepalive_timer(peer[1], listener.getsockname()[1])
    assert hung.stdin is not None
    hung.stdin.write(b"keepalive@openssh.com")
    hung.stdin.flush()
    assert conn.recv(64)
    hung.stdin.close()                            # ssh is gone
    assert hung.wait(10) == 0
    status = RelayStatus.load(tmp_path / "hup.json")
    assert status.end == "hangup" and status.unanswered   # sent, never answered: ssh gave up
    assert status.verdict(255) is Verdict.DEAD
    conn.close()
    assert hung.stdout is not None
    hung.stdout.close()


def test_a_refused_connect_is_recorded(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]                 # bound, not listening: the kernel refuses
        relay = start_relay(port, tmp_path / "r.json")
        relay.communicate(timeout=10)
    status = RelayStatus.load(tmp_path / "r.json")
    assert (status.end, status.errno, status.connected) == ("error", errno.ECONNREFUSED, False)


def test_ssh_runs_through_the_relay_which_keeps_tcpkeepalive(tmp_path: Path) -> None:
    client = OpenSshClient(tmp_path / "w%d")
    status = tmp_path / "w%d" / "relay.json"
    argv = client.argv("203.0.113.20", 22, "root", "cat", password=False, relay=status)
    proxy = next(a for a in argv if a.startswith("ProxyCommand="))
    assert "-m natsim.probes.ssh.proxycommand" in proxy and proxy.endswith(" --keepalive %h %p")
    assert "w%%d" in proxy                        # ssh expands % in a ProxyCommand
    plain = client.argv("h", 22, "root", "cat", password=False, relay=status,
                        options={"TCPKeepAlive": "no"})
    assert not next(a for a in plain if a.startswith("ProxyCommand=")).endswith("--keepalive %h %p")
    assert not any(a.startswith("ProxyCommand=") for a in client.argv("h", 22, "root", None, password=False))
