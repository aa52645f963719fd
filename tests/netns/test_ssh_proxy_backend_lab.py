"""What the backend sees from the proxy, read from a packet capture (dc-ssh-proxy, time scale 60).

The proxy→backend handshakes are captured on the firewall's server-side links and decoded by natsim's
own analysis; the banner and every KEXINIT list must be exactly the configured ones. The same runs
show the incident's outcome: the Go-style backend fails once (EOF) and then works while bypassed,
OpenSSH's sshd works through the proxy.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from natsim.analysis import analyze_directory
from natsim.analysis.ssh import SshSide
from natsim.lab import Lab
from natsim.lab.capture import Capture
from natsim.middleboxes.ssh_proxy import SshProxy
from natsim.middleboxes.ssh_proxy.runtime import start_proxy
from natsim.probes.ssh.labrun import run_ssh_probe, start_go_ssh
from natsim.probes.ssh.sshd import openssh_server
from natsim.report.schema import Verdict
from natsim.units import TimeScale

pytestmark = pytest.mark.natsim_netns

GO = "203.0.113.20:2222"
SSHD = "203.0.113.130:22"
OVERRIDE = SshProxy(ports=(22, 2222), backend_banner="SSH-2.0-OpenSSH_7.4p1 Debian-10+deb9u7",
                    kex=("curve25519-sha256", "diffie-hellman-group-exchange-sha256"),
                    backend_host_keys=("ssh-ed25519", "rsa-sha2-256"),
                    backend_ciphers=("aes256-ctr", "aes128-ctr"),
                    backend_macs=("hmac-sha2-512",), backend_compression=("none", "zlib@openssh.com"),
                    backend_ext_info=True, backend_strict_kex=True)


def both_directions(name: str, values: list[str]) -> dict[str, list[str]]:
    return {f"{name}_client_to_server": values, f"{name}_server_to_client": values}


def kexinit(kex: list[str], host_keys: list[str], ciphers: list[str], macs: list[str],
            compression: list[str]) -> dict[str, list[str]]:
    return {"kex_algorithms": kex, "server_host_key_algorithms": host_keys,
            **both_directions("encryption", ciphers), **both_directions("mac", macs),
            **both_directions("compression", compression), **both_directions("languages", [])}


DEFAULT_KEXINIT = kexinit(
    ["diffie-hellman-group-exchange-sha256", "diffie-hellman-group-exchange-sha1"],
    ["ssh-rsa", "rsa-sha2-256", "rsa-sha2-512", "ecdsa-sha2-nistp256", "ssh-ed25519"],
    ["aes128-ctr", "aes192-ctr", "aes256-ctr"], ["hmac-sha2-256", "hmac-sha2-512", "hmac-sha1"], ["none"])
OVERRIDE_KEXINIT = kexinit(
    ["curve25519-sha256", "diffie-hellman-group-exchange-sha256",
     "ext-info-c", "kex-strict-c-v00@openssh.com"],
    ["ssh-ed25519", "rsa-sha2-256"], ["aes256-ctr", "aes128-ctr"], ["hmac-sha2-512"],
    ["none", "zlib@openssh.com"])


def handshakes_through_the_proxy(config: SshProxy, tmp_path: Path) -> dict[str, SshSide]:
    """Log in to sshd and (twice) to go-ssh through the proxy, under capture; the proxy's side per backend."""
    with Lab("dc-ssh-proxy", {"fw": config}, time_scale=TimeScale(60), runtimes=False) as lab:
        start_go_ssh(lab, workdir=tmp_path)
        proxy = start_proxy(lab, workdir=tmp_path)
        with openssh_server(lab, "sshd", password="natsim"), Capture(lab, tmp_path / "capture"):
            sshd = run_ssh_probe(lab, "client1", "ssh-first-connect",
                                 ["--target", SSHD, "--attempts", "2", "--client", "openssh",
                                  "--user", "root", "--command", "echo relayed"], timeout=120)
            go = run_ssh_probe(lab, "client1", "ssh-first-connect", ["--target", GO, "--attempts", "2"])
        lines = proxy.lines()
    assert [c.verdict for c in sshd.connections] == [Verdict.OK, Verdict.OK]
    assert [c.verdict for c in go.connections] == [Verdict.EOF, Verdict.OK]
    assert go.connections[0].detail.startswith("ssh: handshake failed: EOF")
    assert sum("outcome=relayed" in ln and SSHD in ln for ln in lines) == 2
    assert sum("outcome=kex-mismatch" in ln and GO in ln for ln in lines) == 1
    sides: dict[str, list[SshSide]] = {}
    for report in analyze_directory(tmp_path / "capture").connections:
        if report.connection.initiator == "fw" and report.ssh is not None:
            sides.setdefault(report.connection.responder, []).append(report.ssh.client)
    assert sorted((name, len(found)) for name, found in sides.items()) == [("gossh", 1), ("sshd", 2)]
    for found in sides.values():
        assert all(side.error is None for side in found)
        assert all(side == found[0] for side in found)   # every attempt offered the same
    return {name: found[0] for name, found in sides.items()}


def test_backend_sees_the_incident_banner_and_appliance_lists(tmp_path: Path) -> None:
    seen = handshakes_through_the_proxy(SshProxy(ports=(22, 2222)), tmp_path)
    for backend in ("sshd", "gossh"):
        assert seen[backend].banner == "SSH-2.0-PaloAltoNetworks_0.2"
        assert seen[backend].kexinit == DEFAULT_KEXINIT
        assert seen[backend].first_kex_packet_follows is False


def test_backend_sees_overridden_banner_lists_and_requested_markers(tmp_path: Path) -> None:
    seen = handshakes_through_the_proxy(OVERRIDE, tmp_path)
    for backend in ("sshd", "gossh"):
        assert seen[backend].banner == "SSH-2.0-OpenSSH_7.4p1 Debian-10+deb9u7"
        assert seen[backend].kexinit == OVERRIDE_KEXINIT
