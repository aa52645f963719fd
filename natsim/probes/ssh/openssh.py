"""Driving the OpenSSH client (``ssh``) non-interactively, with throw-away state.

Every attempt gets its own ``known_hosts`` (so a proxy's host key and the real one never clash, and
each attempt reports the key it saw). Authentication is a throw-away key pair (``BatchMode``), or a
password fed by ``SSH_ASKPASS`` (``SSH_ASKPASS_REQUIRE=force``; no sshpass, no terminal) — needed
through the proxy, which cannot relay a public-key signature. ``ssh`` reaches the server through
natsim's relay (:mod:`natsim.probes.ssh.proxycommand`, its ``ProxyCommand``), and the verdict comes from
what the relay saw of the TCP connection (:mod:`natsim.probes.ssh.outcome`), not from ssh's words.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from natsim.errors import ProbeError
from natsim.outfiles import make_dir, write_file
from natsim.probes.ssh.outcome import RelayStatus
from natsim.report.schema import Verdict

SSH = "ssh"
#: natsim's relay, run by ssh as its ProxyCommand.
RELAY = (sys.executable, "-m", "natsim.probes.ssh.proxycommand")
_ASKPASS = "#!/bin/sh\nprintf '%s\\n' \"$NATSIM_SSH_PASSWORD\"\n"


@dataclass
class SshAttempt:
    """One ``ssh`` run."""

    verdict: Verdict
    returncode: int
    error: str = ""        # ssh's last diagnostic line ("Connection closed by ... port 2222")
    host_key: str = ""     # "type base64" of the key recorded in the throw-away known_hosts
    output: str = ""
    elapsed: float = 0.0   # lab seconds
    stderr: str = ""       # everything ssh printed on stderr


def last_line(stderr: str) -> str:
    """ssh's last diagnostic line, for people (never for a verdict)."""
    lines = [ln.strip() for ln in stderr.splitlines()
             if ln.strip() and not ln.startswith(("Warning: Permanently added", "debug"))]
    return lines[-1] if lines else ""


def proxy_command(status: Path, *, keepalive: bool, timeout: float) -> str:
    """The ``ProxyCommand`` that runs natsim's relay, writing how the connection ended to ``status``."""
    argv = [*RELAY, "--status", str(status), "--timeout", f"{timeout:g}"]
    if keepalive:
        argv.append("--keepalive")
    return shlex.join(argv).replace("%", "%%") + " %h %p"


def _yes(value: str) -> bool:
    return value.lower() in ("yes", "true", "on", "1")


@dataclass
class OpenSshClient:
    """Runs ``ssh`` from a private work directory; ``prefix`` runs it elsewhere (``mnexec -a PID``)."""

    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="natsim-ssh-")))
    prefix: Sequence[str] = ()
    binary: str = SSH

    def __post_init__(self) -> None:
        make_dir(self.workdir, mode=0o700)
        self._count = 0

    @property
    def identity(self) -> Path:
        """The throw-away private key (created on first use)."""
        key = self.workdir / "id_ed25519"
        if not key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "natsim-probe",
                            "-f", str(key)], check=True, capture_output=True)
        return key

    def public_key(self) -> str:
        """The throw-away public key line (for ``authorized_keys``)."""
        return (self.identity.with_suffix(".pub")).read_text().strip()

    def _askpass(self) -> Path:
        path = self.workdir / "askpass.sh"
        if not path.exists():
            write_file(path, _ASKPASS, mode=0o700)
        return path

    def argv(self, host: str, port: int, user: str, command: str | None, *, password: bool,
             options: Mapping[str, str] | None = None, known_hosts: Path | None = None,
             tty: bool = False, relay: Path | None = None) -> list[str]:
        """The full ``ssh`` command line; with ``relay`` (a status file) through natsim's relay, which
        does what ``TCPKeepAlive`` asks on the socket it owns."""
        opts = {"UserKnownHostsFile": str(known_hosts or os.devnull),
                "GlobalKnownHostsFile": os.devnull, "StrictHostKeyChecking": "accept-new",
                "ConnectTimeout": "10", "LogLevel": "ERROR", "UpdateHostKeys": "no",
                "ServerAliveInterval": "0", "ControlMaster": "no", "ControlPath": "none"}
        if password:
            opts |= {"BatchMode": "no", "PubkeyAuthentication": "no", "NumberOfPasswordPrompts": "1",
                     "PreferredAuthentications": "password,keyboard-interactive"}
        else:
            opts |= {"BatchMode": "yes", "IdentitiesOnly": "yes", "IdentityFile": str(self.identity),
                     "PreferredAuthentications": "publickey", "PasswordAuthentication": "no"}
        opts |= dict(options or {})
        if relay is not None:
            opts["ProxyCommand"] = proxy_command(relay, keepalive=_yes(opts.get("TCPKeepAlive", "yes")),
                                                 timeout=float(opts["ConnectTimeout"]))
        argv = [*self.prefix, self.binary, "-F", os.devnull, "-p", str(port), "-l", user]
        argv += ["-tt"] if tty else ["-T"]
        for key, value in opts.items():
            argv += ["-o", f"{key}={value}"]
        argv.append(host)
        if command is not None:
            argv.append(command)
        return argv

    def env(self, password: str | None) -> dict[str, str]:
        """Environment for ``ssh``: askpass when a password is used."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SSH_")}
        if password is not None:
            env |= {"SSH_ASKPASS": str(self._askpass()), "SSH_ASKPASS_REQUIRE": "force",
                    "DISPLAY": env.get("DISPLAY", ":0"), "NATSIM_SSH_PASSWORD": password}
        return env

    def new_known_hosts(self) -> Path:
        """A fresh, empty known_hosts file for one attempt."""
        self._count += 1
        return write_file(self.workdir / f"known_hosts.{self._count}", "")

    def new_relay_status(self) -> Path:
        """Where the relay of the next attempt writes how its connection ended."""
        self._count += 1
        path = self.workdir / f"relay.{self._count}.json"
        path.unlink(missing_ok=True)
        return path

    async def attempt(self, host: str, port: int, user: str, *, command: str = "true",
                      password: str | None = None, options: Mapping[str, str] | None = None,
                      timeout: float = 30.0) -> SshAttempt:
        """One login running ``command``; never raises for a failed login (see the verdict)."""
        if shutil.which(self.binary) is None and not self.prefix:
            raise ProbeError(f"{self.binary} not found (Debian package openssh-client)")
        known, relay = self.new_known_hosts(), self.new_relay_status()
        argv = self.argv(host, port, user, command, password=password is not None, options=options,
                         known_hosts=known, relay=relay)
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=self.env(password), start_new_session=True)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return SshAttempt(Verdict.DEAD, -9, f"ssh did not finish within {timeout:g} s",
                              host_key=read_host_key(known), elapsed=time.monotonic() - started)
        code = proc.returncode if proc.returncode is not None else -1
        diag = err.decode(errors="replace")
        status = RelayStatus.load(relay)
        verdict = status.verdict(code)
        line = status.describe(host, port) if status.end in ("error", "eof") else last_line(diag)
        return SshAttempt(verdict, code, line, host_key=read_host_key(known),
                          output=out.decode(errors="replace"), elapsed=time.monotonic() - started,
                          stderr=diag)


def read_host_key(known_hosts: Path) -> str:
    """``"type base64"`` of the first key in a known_hosts file, or ``""``."""
    try:
        for line in known_hosts.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and not line.startswith("#"):
                return f"{parts[1]} {parts[2]}"
    except OSError:
        pass
    return ""
