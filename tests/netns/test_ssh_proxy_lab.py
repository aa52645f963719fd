"""The Palo Alto incident in the lab (dc-ssh-proxy, time scale 60): "the first ssh always fails"."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from natsim.lab import Lab
from natsim.middleboxes.ssh_proxy import SshProxy
from natsim.middleboxes.ssh_proxy.runtime import ProxyHandle, start_proxy
from natsim.probes.ssh.cli import format_table
from natsim.probes.ssh.labrun import run_ssh_probe, start_go_ssh
from natsim.probes.ssh.sshd import openssh_server
from natsim.report.schema import Verdict
from natsim.units import TimeScale

pytestmark = pytest.mark.natsim_netns

SCALE = 60.0
GO = "203.0.113.20:2222"
SSHD = "203.0.113.130:22"
#: Short bypass (5-6 lab seconds at scale 60) for tests that watch it expire.
SHORT = SshProxy(ports=(22, 2222, 2223), bypass=(300.0, 360.0))
INCIDENT = SshProxy(ports=(22, 2222, 2223))
#: 10-11 lab seconds: room for three probe runs (a Python start each) inside the bypass under load.
EXPIRY = SshProxy(ports=(22, 2222), bypass=(600.0, 660.0))


@pytest.fixture
def lab_factory(tmp_path: Path) -> Iterator[Any]:
    labs: list[Lab] = []

    def start(config: SshProxy) -> tuple[Lab, ProxyHandle]:
        lab = Lab("dc-ssh-proxy", {"fw": config}, time_scale=TimeScale(SCALE), runtimes=False)
        lab.start()
        labs.append(lab)
        start_go_ssh(lab, workdir=tmp_path)
        return lab, start_proxy(lab, workdir=tmp_path)

    try:
        yield start
    finally:
        for lab in labs:
            lab.stop()


def verdicts(result: Any) -> list[Verdict]:
    return [c.verdict for c in result.connections]


def bypass_elements(lab: Lab) -> str:
    return lab.run("fw", ["nft", "list", "set", "inet", "natsim", "bypass"])[1]


def test_go_ssh_first_attempt_fails_with_eof_then_bypassed(lab_factory: Any) -> None:
    lab, proxy = lab_factory(INCIDENT)
    go = run_ssh_probe(lab, "client1", "ssh-first-connect", ["--target", GO, "--attempts", "4"])
    assert verdicts(go) == [Verdict.EOF, Verdict.OK, Verdict.OK, Verdict.OK]
    assert go.connections[0].detail.startswith("ssh: handshake failed: EOF")
    attempts = go.extra["attempts"]
    assert attempts[0]["banner"] == "SSH-2.0-PaloAltoNetworks_0.2"
    assert {a["banner"] for a in attempts[1:]} == {"SSH-2.0-Go"}
    assert "Palo Alto" in go.extra["proxy"]
    openssh = run_ssh_probe(lab, "client2", "ssh-first-connect",
                            ["--target", GO, "--attempts", "3", "--client", "openssh"])
    assert verdicts(openssh) == [Verdict.EOF, Verdict.OK, Verdict.OK]
    assert openssh.connections[0].detail.startswith("Connection closed by 203.0.113.20 port 2222")
    elements = bypass_elements(lab)
    assert "192.0.2.10 . 203.0.113.20 . 2222" in elements
    assert "198.51.100.10 . 203.0.113.20 . 2222" in elements
    mismatches = [ln for ln in proxy.lines() if "outcome=kex-mismatch" in ln]
    assert len(mismatches) == 2 and all("bypass=" in ln for ln in mismatches)


def _sshd_attempts(lab_factory: Any, attempts: int) -> None:
    # imported here: it imports asyncssh, which every xdist worker's collection paid at the top
    from tests.unit.ssh_helpers import same_key

    lab, proxy = lab_factory(INCIDENT)
    with openssh_server(lab, "sshd", password="natsim") as sshd:
        result = run_ssh_probe(lab, "client1", "ssh-first-connect",
                               ["--target", SSHD, "--attempts", str(attempts), "--client", "openssh",
                                "--user", "root", "--command", "echo relayed"], timeout=240)
        assert verdicts(result) == [Verdict.OK] * attempts
        keys = {a["host_key"] for a in result.extra["attempts"]}
        assert len(keys) == 1
        key = keys.pop()
        assert same_key(key, proxy.host_key_pub) and not same_key(key, sshd.host_key_pub)
    assert "192.0.2.10" not in bypass_elements(lab)
    assert sum("outcome=relayed" in ln and "203.0.113.130:22" in ln for ln in proxy.lines()) == attempts


def test_sshd_behind_proxy_20_of_20_with_the_proxy_key(lab_factory: Any) -> None:
    _sshd_attempts(lab_factory, 20)


def test_bypass_expires_and_a_second_client_is_intercepted(lab_factory: Any) -> None:
    lab, _ = lab_factory(EXPIRY)
    first = run_ssh_probe(lab, "client1", "ssh-first-connect", ["--target", GO, "--attempts", "2"])
    failed_at = time.monotonic()
    assert verdicts(first) == [Verdict.EOF, Verdict.OK]
    other = run_ssh_probe(lab, "client2", "ssh-first-connect", ["--target", GO, "--attempts", "1"])
    assert verdicts(other) == [Verdict.EOF]          # client1 is bypassed, client2 is not
    still = run_ssh_probe(lab, "client1", "ssh-first-connect", ["--target", GO, "--attempts", "1"])
    assert time.monotonic() - failed_at < 600 / SCALE, "too slow to test inside the bypass"
    assert verdicts(still) == [Verdict.OK]
    time.sleep(max(0.0, failed_at + 660 / SCALE + 0.3 - time.monotonic()))   # past the longest bypass
    again = run_ssh_probe(lab, "client1", "ssh-first-connect", ["--target", GO, "--attempts", "2"])
    assert verdicts(again) == [Verdict.EOF, Verdict.OK]


def test_ssh_kex_sees_the_pan_banner_only_when_intercepted(lab_factory: Any) -> None:
    lab, _ = lab_factory(INCIDENT)
    before = run_ssh_probe(lab, "client1", "ssh-kex", ["--target", GO])
    assert before.extra["banner"] == "SSH-2.0-PaloAltoNetworks_0.2" and before.extra["proxy"]
    assert not before.extra["go_server_kex"]
    run_ssh_probe(lab, "client1", "ssh-first-connect", ["--target", GO, "--attempts", "1"])
    after = run_ssh_probe(lab, "client1", "ssh-kex", ["--target", GO])
    assert after.extra["banner"] == "SSH-2.0-Go" and after.extra["proxy"] is None
    assert after.extra["go_server_kex"]               # exactly the Go server's list
    other = run_ssh_probe(lab, "client2", "ssh-kex", ["--target", GO])
    assert other.extra["banner"] == "SSH-2.0-PaloAltoNetworks_0.2"


def test_bypass_timer_brackets_a_short_bypass(lab_factory: Any) -> None:
    lab, _ = lab_factory(SHORT)
    result = run_ssh_probe(lab, "client1", "ssh-bypass-timer",
                           ["--target", GO, "--step", "100s", "--resolution", "10s", "--max-wait", "20m"])
    assert result.estimate is not None and result.complete
    lower, upper = result.estimate.lower, result.estimate.upper
    assert lower is not None and upper is not None
    assert 300 - 2 <= lower < upper <= 360 + 2
    assert upper - lower <= 10


def test_bypass_timer_reports_the_incident_bracket(lab_factory: Any) -> None:
    """31 bypassed logins 2 min (2 s lab) apart, then two bisection rounds: the suite's longest test
    (255 s in whole runs at time scale 60, the ssh kinds' limit)."""
    lab, _ = lab_factory(INCIDENT)
    result = run_ssh_probe(lab, "client1", "ssh-bypass-timer",
                           ["--target", GO, "--step", "2m", "--resolution", "30s"], timeout=600)
    print(format_table(result))
    assert result.estimate is not None
    lower, upper = result.estimate.lower, result.estimate.upper
    assert lower is not None and upper is not None
    assert 3720 - 5 <= lower < upper <= 3840 + 5      # 5 s real = 83 ms of scheduling at scale 60


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


STALL_SERVER = """
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 2223))
s.listen()
held = []
while True:
    held.append(s.accept())   # accept, never speak
"""

BAD_CLIENTS = """
import socket, time
def send(data, port=2222):
    s = socket.create_connection(("203.0.113.20", port))
    s.sendall(data)
    return s
held = [send(b"GET / HTTP/1.0\\r\\n\\r\\n"), send(b"SSH-2.0-" + b"x" * 1000000), send(b""),
        send(b"SSH-2.0-Go\\r\\n")]
time.sleep(60)
"""


def test_bad_clients_and_a_stalled_backend_do_not_hurt_others(tmp_path: Path) -> None:
    lab = Lab("dc-ssh-proxy", {"fw": INCIDENT}, time_scale=TimeScale(SCALE), runtimes=False)
    with lab:
        start_go_ssh(lab, workdir=tmp_path)
        proxy = start_proxy(lab, workdir=tmp_path, extra_args=("--handshake-timeout", "2"))
        stall = lab.popen("gossh", [sys.executable, "-c", STALL_SERVER])
        warm = run_ssh_probe(lab, "client1", "ssh-first-connect", ["--target", GO, "--attempts", "1"])
        assert verdicts(warm) == [Verdict.EOF]
        time.sleep(0.5)
        before = _open_fds(proxy.process.pid)
        bad = lab.popen("client2", [sys.executable, "-c", BAD_CLIENTS])
        time.sleep(0.5)
        stalled = run_ssh_probe(lab, "client2", "ssh-first-connect",
                                ["--target", "203.0.113.20:2223", "--attempts", "1"])
        assert verdicts(stalled) == [Verdict.EOF]      # the proxy gave up on the silent backend
        good = run_ssh_probe(lab, "client1", "ssh-first-connect", ["--target", GO, "--attempts", "1"])
        assert verdicts(good) == [Verdict.OK]          # client1 is bypassed and unaffected
        other = run_ssh_probe(lab, "client2", "ssh-first-connect", ["--target", GO, "--attempts", "2"])
        assert verdicts(other) == [Verdict.EOF, Verdict.OK]   # client2 still intercepted and served
        bad.stop()
        stall.stop()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _open_fds(proxy.process.pid) > before:
            time.sleep(0.2)
        assert _open_fds(proxy.process.pid) <= before
        lines = proxy.lines()
        assert any("outcome=client-failed" in ln and "Banner line too long" in ln for ln in lines)
        assert any("kind=other" in ln and "outcome=relayed" in ln for ln in lines)
        assert any(":2223" in ln and "outcome=backend-failed" in ln for ln in lines)
        assert proxy.process.popen.poll() is None


PEER_SERVER = """
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7000))
s.listen()
while True:
    c, peer = s.accept()
    data = c.recv(100)
    c.sendall(f"{peer[0]} said {data.decode()}".encode())
    c.close()
"""

PEER_CLIENT = """
import socket
s = socket.create_connection(("203.0.113.20", 7000), timeout=5)
s.sendall(b"hello")
print(s.recv(200).decode())
"""


def test_every_port_is_intercepted_transparently(tmp_path: Path) -> None:
    """ports=() diverts all TCP: non-SSH is relayed byte-for-byte and servers see the client's address."""
    with Lab("dc-ssh-proxy", {"fw": SshProxy()}, time_scale=TimeScale(SCALE), runtimes=False) as lab:
        start_go_ssh(lab, workdir=tmp_path)
        proxy = start_proxy(lab, workdir=tmp_path, extra_args=("--sniff-timeout", "1"))
        peer = lab.popen("gossh", [sys.executable, "-c", PEER_SERVER])
        lab.wait_port("gossh", 7000, peer)
        code, out = lab.run("client1", [sys.executable, "-c", PEER_CLIENT])
        assert code == 0 and out.strip() == "192.0.2.10 said hello"
        run_ssh_probe(lab, "client1", "ssh-first-connect", ["--target", GO, "--attempts", "1"])
        lines = proxy.lines()
        assert any("server=203.0.113.20:7000 kind=other outcome=relayed" in ln for ln in lines)
        assert any("server=203.0.113.20:2222 kind=ssh outcome=kex-mismatch" in ln for ln in lines)
        go_log = (tmp_path / "go-ssh-gossh.log").read_text()
        assert "connection from 192.0.2.10:" in go_log      # the backend saw the client, not the proxy
        assert "203.0.113.1:" not in go_log


#: The backend's end of one connection: accept, read a byte, then (on a line on stdin) abort with a RST.
RESETTING_SERVER = """
import socket, struct, sys
lsock = socket.socket(); lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind(("0.0.0.0", 7022)); lsock.listen(1)
conn, _ = lsock.accept(); conn.recv(1)
print("accepted", flush=True); sys.stdin.readline()
conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); conn.close()
"""
#: The daemon's end: a transparent connection from the client's address, aborted (its RST is dropped).
VANISHING_CLIENT = """
import socket, struct
sock = socket.socket(); sock.setsockopt(socket.SOL_IP, 19, 1)   # IP_TRANSPARENT
sock.bind(("192.0.2.10", 40022)); sock.connect(("203.0.113.130", 7022)); sock.sendall(b"x")
sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); sock.close()
"""


def _rst_counter(lab: Lab, node: str) -> int:
    """The packets counted by the test table's one counter in ``node``."""
    _, out = lab.run(node, ["nft", "list", "chain", "inet", "t", "c"], check=True)
    found = [int(w.split()[1]) for w in out.split("counter")[1:]]
    assert found, out
    return found[0]


def test_a_late_reply_to_a_vanished_backend_connection_is_not_forwarded_to_the_client() -> None:
    """The daemon's backend connection carries the client's address. When its socket is gone before
    the backend's RST arrives (both aborted at once: a key-exchange mismatch), that RST must not be
    routed on to the client, which never had the connection (a stray RST made the captured
    proxy→gossh handshake look like client1's own connection: test_ssh_proxy_backend_lab's flake)."""
    counting = "table inet t { chain c { type filter hook prerouting priority raw; tcp sport 7022 " \
               "tcp flags & rst == rst counter\n}\n}\n"
    with Lab("dc-ssh-proxy", {"fw": INCIDENT}, time_scale=TimeScale(SCALE), runtimes=False) as lab:
        for node in ("fw", "client1"):
            lab.runner(node).run(["nft", "-f", "-"], input=counting)
        # the daemon's RST never reaches conntrack or the backend: its socket vanishes silently
        lab.runner("fw").run(["nft", "-f", "-"], input="table inet d { chain o { type filter hook output "
                             "priority raw; tcp dport 7022 tcp flags & rst == rst drop\n}\n}\n")
        server = lab.popen("sshd", [sys.executable, "-c", RESETTING_SERVER], stdin=subprocess.PIPE,
                           text=True)
        lab.wait_port("sshd", 7022, server)
        lab.run("fw", [sys.executable, "-c", VANISHING_CLIENT], check=True)
        assert server.popen.stdout is not None and server.popen.stdin is not None
        assert server.popen.stdout.readline() == "accepted\n"
        server.popen.stdin.write("reset\n")
        server.popen.stdin.close()
        assert server.popen.wait(timeout=10) == 0
        deadline = time.monotonic() + 5
        while _rst_counter(lab, "fw") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _rst_counter(lab, "fw") == 1, "the backend's RST did not reach the firewall"
        assert lab.run("sshd", ["ping", "-c1", "-W2", "192.0.2.10"])[0] == 0   # same path, after it
        assert _rst_counter(lab, "client1") == 0
