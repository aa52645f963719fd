"""One SSH login attempt with either client, reduced to what the SSH probes record.

``client="go"`` uses the Go-like library client (:mod:`~natsim.probes.ssh.goclient`), ``"openssh"``
the real ``ssh`` (:mod:`~natsim.probes.ssh.openssh`, run with ``-v`` so the banner and the
negotiated key exchange can be read from its diagnostics).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from natsim.errors import ProbeError
from natsim.probes.ssh.backends import LAB_PASSWORD, LAB_USER
from natsim.probes.ssh.goclient import go_attempt
from natsim.probes.ssh.openssh import OpenSshClient
from natsim.report.schema import Verdict

CLIENTS = ("go", "openssh")
_REMOTE = re.compile(r"Remote protocol version ([\d.]+), remote software version (\S+)")
_KEX = re.compile(r"kex: algorithm: (\S+)")


def parse_target(text: str, default_port: int = 22) -> tuple[str, int]:
    """``HOST:PORT`` (or ``HOST``) → (host, port); :class:`ProbeError` when malformed."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = text, str(default_port)
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ProbeError(f"--target: expected HOST:PORT, got {text!r}")
    return host, int(port)


@dataclass
class SshLogin:
    """How the SSH probes log in (a throw-away account on the lab's servers by default)."""

    user: str = LAB_USER
    password: str | None = LAB_PASSWORD
    client: str = "go"
    command: str = "true"
    timeout: float = 15.0                       # lab seconds per attempt
    openssh: OpenSshClient | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.client not in CLIENTS:
            raise ProbeError(f"unknown SSH client {self.client!r} (one of {', '.join(CLIENTS)})")
        if self.client == "go" and self.password is None:
            raise ProbeError("the Go-like client logs in with a password; give --password")


@dataclass
class LoginOutcome:
    """What one attempt showed."""

    verdict: Verdict
    error: str = ""
    banner: str = ""
    kex: str = ""
    host_key: str = ""
    output: str = ""
    elapsed: float = 0.0   # lab seconds
    local: str = ""        # the client's address:port, where the client tells it (the Go-like one)

    def detail(self) -> str:
        """One line for tables and the result's ``detail``."""
        parts = [self.error or "login ok"]
        if self.banner:
            parts.append(f"banner {self.banner}")
        if self.kex:
            parts.append(f"kex {self.kex}")
        return "; ".join(parts)


async def login_once(host: str, port: int, login: SshLogin) -> LoginOutcome:
    """One login with ``login``'s client; never raises for a failed login."""
    if login.client == "go":
        assert login.password is not None
        go = await go_attempt(host, port, login.user, login.password, command=login.command,
                              timeout=login.timeout)
        return LoginOutcome(go.verdict, go.error, go.server_banner, "", go.host_key, go.output, go.elapsed,
                            go.local)
    client = login.openssh or OpenSshClient()
    login.openssh = client
    client_argv_options = {"LogLevel": "DEBUG1"}
    ssh = await client.attempt(host, port, login.user, command=login.command, password=login.password,
                               options=client_argv_options, timeout=login.timeout)
    banner = kex = ""
    diag = ssh.stderr
    if (m := _REMOTE.search(diag)) is not None:
        banner = f"SSH-{m.group(1)}-{m.group(2)}"
    if (m := _KEX.search(diag)) is not None:
        kex = m.group(1)
    return LoginOutcome(ssh.verdict, ssh.error, banner, kex, ssh.host_key, ssh.output, ssh.elapsed)
