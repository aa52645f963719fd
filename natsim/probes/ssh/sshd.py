"""OpenSSH ``sshd`` in a lab node, with a throw-away config, host key and credentials.

``with openssh_server(lab, "sshd", authorized_keys=[pub], password=LAB_PASSWORD) as sshd:`` starts
``/usr/sbin/sshd -D -e -f CONFIG`` through :meth:`Lab.popen` (so lab teardown stops it too) and
waits until it listens. Nothing on the host is written outside a private temp directory:

* sshd runs in a private mount namespace (``unshare --mount``) where a tmpfs covers ``/run`` (its
  privilege-separation directory ``/run/sshd`` and utmp live there) and ``/var/log`` (wtmp, lastlog);
* for password logins, a private copy of a shadow file holding only ``root``'s throw-away hash is
  bind-mounted over ``/etc/shadow`` inside that namespace only (``UsePAM no``, so sshd reads it).
  The file on disk is never touched.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from natsim.errors import ConfigError, LabError
from natsim.labview import NodeProcess, RunningLab
from natsim.outfiles import open_new, write_file

SSHD = "/usr/sbin/sshd"


@dataclass(frozen=True)
class SshdHandle:
    """A running sshd: where it listens and its throw-away files."""

    node: str
    port: int
    workdir: Path
    host_key_pub: str          # "type base64 comment"
    process: NodeProcess

    @property
    def log(self) -> Path:
        """sshd's stderr (``-e``)."""
        return self.workdir / "sshd.log"


def render_config(workdir: Path, port: int, *, password: bool, options: Mapping[str, str]) -> str:
    """The sshd_config text (pure). An extra option's name must be one word of letters and digits and
    its value one line (no control character): nothing it holds can start another directive (a
    ``Match`` block, a second ``Subsystem``)."""
    settings = {
        "Port": str(port), "ListenAddress": "0.0.0.0",
        "HostKey": str(workdir / "ssh_host_ed25519_key"), "PidFile": str(workdir / "sshd.pid"),
        "AuthorizedKeysFile": str(workdir / "authorized_keys"), "StrictModes": "no",
        "UsePAM": "no", "PermitRootLogin": "yes",
        "PasswordAuthentication": "yes" if password else "no",
        "KbdInteractiveAuthentication": "no", "PubkeyAuthentication": "yes",
        "UseDNS": "no", "PrintMotd": "no", "PrintLastLog": "no", "LogLevel": "VERBOSE",
        "TCPKeepAlive": "no", "ClientAliveInterval": "0",
        "MaxStartups": "200:30:400", "MaxSessions": "200", "MaxAuthTries": "6",
        "Subsystem": "sftp internal-sftp",
    }
    for key, value in options.items():
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key):
            raise ConfigError(f"sshd option {key!r}: expected one word of letters and digits")
        if re.search(r"[\x00-\x1f\x7f]", value) or not value.strip():
            raise ConfigError(f"sshd option {key}: {value!r} must be one non-empty line without control "
                              "characters")
    settings.update(options)
    return "".join(f"{k} {v}\n" for k, v in settings.items())


def shadow_line(password: str) -> str:
    """A shadow entry for root with a SHA-512 crypt hash of ``password``."""
    done = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise LabError(f"openssl passwd failed: {done.stderr.strip()}")
    return f"root:{done.stdout.strip()}:19000:0:99999:7:::\n"


def start_script(config: Path, shadow: Path | None) -> str:
    """The shell run inside the private mount namespace before exec'ing sshd."""
    steps = ["set -e", "mount -t tmpfs -o mode=755 natsim-run /run", "mkdir -m 755 /run/sshd",
             "mount -t tmpfs -o mode=755 natsim-log /var/log"]
    if shadow is not None:
        steps.append(f"mount --bind {_quoted(shadow)} /etc/shadow")
    steps.append(f"exec {SSHD} -D -e -f {_quoted(config)}")
    return "; ".join(steps)


def _quoted(path: Path) -> str:
    """``path`` as one shell word, always single-quoted (a quote inside it too)."""
    return "'" + str(path).replace("'", "'\"'\"'") + "'"


@contextmanager
def openssh_server(lab: RunningLab, node: str, *, port: int = 22, authorized_keys: Sequence[str] = (),
                   password: str | None = None, options: Mapping[str, str] | None = None,
                   ready_timeout: float = 10.0) -> Iterator[SshdHandle]:
    """Run sshd in ``node`` for the duration of the block (``root`` logs in by key or ``password``)."""
    workdir = Path(tempfile.mkdtemp(prefix="natsim-sshd-"))
    proc = None
    try:
        key = workdir / "ssh_host_ed25519_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"natsim-{node}",
                        "-f", str(key)],
                       check=True, capture_output=True)
        write_file(workdir / "authorized_keys", "".join(k.strip() + "\n" for k in authorized_keys))
        text = render_config(workdir, port, password=password is not None, options=options or {})
        config = write_file(workdir / "sshd_config", text)
        shadow = None
        if password is not None:
            shadow = write_file(workdir / "shadow", shadow_line(password), mode=0o600)
        test = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True, check=False)
        if test.returncode != 0 and "privilege separation" not in test.stderr.lower():
            raise LabError(f"sshd rejects its config: {test.stderr.strip()}")
        with open_new(workdir / "sshd.log") as log:
            proc = lab.popen(node, ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                                    start_script(config, shadow)], stdout=log, stderr=subprocess.STDOUT)
        lab.wait_port(node, port, proc, timeout=ready_timeout, log=workdir / "sshd.log")
        yield SshdHandle(node, port, workdir, (key.with_suffix(".pub")).read_text().strip(), proc)
    finally:
        if proc is not None:
            proc.stop()
        shutil.rmtree(workdir, ignore_errors=True)
