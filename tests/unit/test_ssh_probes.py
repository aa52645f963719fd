"""The SSH probes' pure parts: targets, variants, option scaling, ssh diagnostics, sshd config."""

from __future__ import annotations

import errno
from pathlib import Path

import asyncssh
import pytest

from natsim.errors import ConfigError, ProbeError
from natsim.probes.ssh.cli import format_table
from natsim.probes.ssh.goclient import go_error
from natsim.probes.ssh.idle import scaled_options
from natsim.probes.ssh.login import parse_target
from natsim.probes.ssh.openssh import OpenSshClient
from natsim.probes.ssh.options import IdleVariant
from natsim.probes.ssh.outcome import RelayStatus
from natsim.probes.ssh.sshd import privsep_passwd, render_config, shadow_line, start_script
from natsim.report.schema import ConnectionResult, ProbeResult, Verdict
from natsim.units import TimeScale
from tests.unit.ssh_helpers import same_key


def test_parse_target() -> None:
    assert parse_target("203.0.113.20:2222") == ("203.0.113.20", 2222)
    assert parse_target("example.org") == ("example.org", 22)
    for bad in (":22", "host:x", "host:70000"):
        with pytest.raises(ProbeError):
            parse_target(bad)


def test_idle_variant_parsing() -> None:
    v = IdleVariant.parse("2h,ServerAliveInterval=300")
    assert (v.idle, dict(v.options), v.name) == (7200.0, {"ServerAliveInterval": "300"},
                                                   "2h-ServerAliveInterval=300")
    named = IdleVariant.parse("plain=61m,TCPKeepAlive=no")
    assert (named.name, named.idle) == ("plain", 3660.0)
    with pytest.raises(ConfigError):
        IdleVariant.parse("1h,ServerAliveInterval")


def test_duration_options_are_scaled_to_whole_seconds() -> None:
    opts, notes = scaled_options({"ServerAliveInterval": "300", "TCPKeepAlive": "yes"}, TimeScale(60))
    assert opts == {"ServerAliveInterval": "5", "TCPKeepAlive": "yes"} and notes == []
    opts, notes = scaled_options({"ServerAliveInterval": "75"}, TimeScale(60))
    assert opts["ServerAliveInterval"] == "1" and "rounded" in notes[0]
    assert scaled_options({"ServerAliveInterval": "0"}, TimeScale(60))[0] == {"ServerAliveInterval": "0"}


@pytest.mark.parametrize(("code", "status", "verdict"), [
    (0, RelayStatus(end="hangup", connected=True), Verdict.OK),
    # "Connection closed by 203.0.113.20 port 2222": the server's FIN
    (255, RelayStatus(end="eof", connected=True), Verdict.EOF),
    # "kex_exchange_identification: read: Connection reset by peer"
    (255, RelayStatus(end="error", errno=errno.ECONNRESET), Verdict.RESET),
    # "client_loop: send disconnect: Broken pipe" after a middlebox's RST: reset (ssh's words said dead)
    (255, RelayStatus(end="error", errno=errno.ECONNRESET, last_sent=5.0, last_received=1.0), Verdict.RESET),
    # "Connection timed out": the kernel gave up (keepalive or retransmissions)
    (255, RelayStatus(end="error", errno=errno.ETIMEDOUT), Verdict.DEAD),
    # "Timeout, server 203.0.113.10 not responding.": ssh hung up on its unanswered requests
    (255, RelayStatus(end="hangup", connected=True, last_sent=9.0, last_received=1.0), Verdict.DEAD),
    # "root@203.0.113.130: Permission denied (publickey).": ssh hung up, the server had answered
    (255, RelayStatus(end="hangup", connected=True, last_sent=1.0, last_received=2.0), Verdict.ERROR),
])
def test_verdict_from_what_the_relay_saw(code: int, status: RelayStatus, verdict: Verdict) -> None:
    assert status.verdict(code) is verdict


def test_go_style_errors() -> None:
    assert go_error(asyncssh.ConnectionLost("Connection lost"), "h", 1) == (
        Verdict.EOF, "ssh: handshake failed: EOF")
    assert go_error(ConnectionRefusedError(), "203.0.113.20", 2222) == (
        Verdict.RESET, "dial tcp 203.0.113.20:2222: connect: connection refused")
    assert "unable to authenticate" in go_error(asyncssh.PermissionDenied("x"), "h", 1)[1]


def test_openssh_argv_password_and_key(tmp_path: Path) -> None:
    client = OpenSshClient(tmp_path / "w", prefix=("mnexec", "-a", "1"))
    argv = client.argv("203.0.113.20", 2222, "natsim", "true", password=True,
                       options={"ServerAliveInterval": "5"}, known_hosts=tmp_path / "kh")
    assert argv[:3] == ["mnexec", "-a", "1"] and argv[-2:] == ["203.0.113.20", "true"]
    assert "BatchMode=no" in argv and "ServerAliveInterval=5" in argv and "-T" in argv
    env = client.env("secret")
    assert env["SSH_ASKPASS_REQUIRE"] == "force" and env["NATSIM_SSH_PASSWORD"] == "secret"
    keyed = client.argv("h", 22, "root", None, password=False)
    assert "BatchMode=yes" in keyed and f"IdentityFile={client.identity}" in keyed
    assert client.public_key().startswith("ssh-ed25519 ")
    assert same_key("ssh-ed25519 AAAA x", "ssh-ed25519 AAAA") and not same_key("", "")


def test_sshd_config_is_private(tmp_path: Path) -> None:
    text = render_config(tmp_path, 22, password=True, options={"TCPKeepAlive": "yes"})
    lines = dict(line.split(" ", 1) for line in text.splitlines())
    assert lines["PidFile"] == str(tmp_path / "sshd.pid")
    assert lines["HostKey"].startswith(str(tmp_path))
    assert lines["UsePAM"] == "no" and lines["PasswordAuthentication"] == "yes"
    assert lines["TCPKeepAlive"] == "yes"
    script = start_script(tmp_path / "sshd_config", tmp_path / "shadow")
    assert "mount --bind" in script and script.endswith(f"-D -e -f '{tmp_path / 'sshd_config'}'")
    assert "/etc/shadow" not in start_script(tmp_path / "c", None)


def test_sshds_private_run_keeps_its_own_directory_visible() -> None:
    """Inside natsim's namespaces a lab's directories are on their private /run, which sshd's own
    tmpfs on /run would hide: it is built at a transit point with sshd's directory bound in, then
    moved onto /run. Elsewhere (root: $TMPDIR) /run is simply covered."""
    from natsim.labview import cover_run

    keep = Path("/run/natsim-ab12cd-home-x/sshd-y")
    assert cover_run("natsim-run", keep) == [
        "mount -n -t tmpfs -o mode=755 natsim-run /tmp", "mkdir -p /tmp/natsim-ab12cd-home-x/sshd-y",
        "mount -n --bind /run/natsim-ab12cd-home-x/sshd-y /tmp/natsim-ab12cd-home-x/sshd-y",
        "mount -n --move /tmp /run"]
    assert cover_run("natsim-run", Path("/tmp/natsim-ab12cd-home-x/sshd-y")) == [
        "mount -n -t tmpfs -o mode=755 natsim-run /run"]
    script = start_script(keep / "sshd_config", keep / "shadow")
    assert script.index("mount -n --move /tmp /run") < script.index("mkdir -m 755 /run/sshd")


PASSWD = ("root:x:0:0:root:/root:/bin/bash\nsshd:x:103:65534::/run/sshd:/usr/sbin/nologin\n"
          "sshdx:x:7:7::/:/bin/false\n")


def test_without_root_sshds_privsep_user_becomes_the_namespaces_one_id(tmp_path: Path) -> None:
    """In a user namespace mapping one id, uid 103 / gid 65534 do not exist: sshd's privilege-separation
    child could not switch to them. Its private passwd makes that user uid and gid 0, nothing else."""
    lines = privsep_passwd(PASSWD).splitlines()
    assert lines == ["root:x:0:0:root:/root:/bin/bash", "sshd:x:0:0::/run/sshd:/usr/sbin/nologin",
                     "sshdx:x:7:7::/:/bin/false"]
    script = start_script(tmp_path / "c", tmp_path / "shadow", tmp_path / "passwd")
    assert f"mount --bind '{tmp_path / 'passwd'}' /etc/passwd" in script
    assert script.index("/etc/passwd") < script.index("exec ")


def test_a_key_only_sshd_gets_a_root_entry_that_is_not_locked() -> None:
    """Without root, /etc/shadow is unreadable and the name service answers ``root:!*`` (locked), which
    sshd refuses even for a key login; the private shadow says "no password", not "locked"."""
    assert shadow_line(None) == "root:*:19000:0:99999:7:::\n"


def test_table_shows_rows_and_bracket() -> None:
    result = ProbeResult("t", "ssh-first-connect", "203.0.113.20:2222", connections=[
        ConnectionResult(0, 0.0, Verdict.EOF, "handshake", 1.0, "ssh: handshake failed: EOF"),
        ConnectionResult(1, 0.0, Verdict.OK, "", 2.0, "login ok")],
        extra={"proxy": "Palo Alto Networks firewall"})
    table = format_table(result)
    assert "ssh: handshake failed: EOF" in table and "intercepting proxy: Palo Alto" in table
