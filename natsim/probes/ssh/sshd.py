"""OpenSSH ``sshd`` in a lab node, with a throw-away config, host key and credentials.

``with openssh_server(lab, "sshd", authorized_keys=[pub], password=LAB_PASSWORD) as sshd:`` starts
``/usr/sbin/sshd -D -e -f CONFIG`` through :meth:`Lab.popen` (so lab teardown stops it too) and
waits until it listens. Nothing on the host is written outside a private directory of the lab's
(:meth:`RunningLab.scratch`):

* sshd runs in a private mount namespace (``unshare --mount``) where a tmpfs covers ``/run`` (its
  privilege-separation directory ``/run/sshd`` and utmp live there; its own directory stays visible)
  and ``/var/log`` (wtmp, lastlog);
* a private shadow file holding only ``root``'s entry (for password logins its throw-away hash, else
  no password) is bind-mounted over ``/etc/shadow`` inside that namespace only (``UsePAM no``, so
  sshd reads it). Without root, the real one is unreadable and the system's name service answers
  with a locked root entry, which sshd refuses even for key logins; the private one never is.
  The file on disk is never touched.
* in a user namespace that maps one id only (natsim's own, without root), sshd's privilege-separation
  user (``sshd``) does not exist there: a private copy of ``/etc/passwd`` in which that user is uid
  and gid 0 is bind-mounted the same way, so its unprivileged child runs as the namespace's one user
  (``setgroups`` succeeds there without effect, see :func:`natsim.lab.linux.setgroups_does_nothing`).
"""

from __future__ import annotations

import pwd
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from natsim.errors import ConfigError, LabError
from natsim.labview import NodeProcess, RunningLab, cover_run
from natsim.outfiles import open_new, write_file
from natsim.privileges import maps_uid

SSHD = "/usr/sbin/sshd"
#: OpenSSH's privilege-separation user (compiled in: SSH_PRIVSEP_USER).
PRIVSEP_USER = "sshd"


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


def shadow_line(password: str | None) -> str:
    """A shadow entry for root with a SHA-512 crypt hash of ``password`` (None: no password login)."""
    if password is None:
        return "root:*:19000:0:99999:7:::\n"
    done = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise LabError(f"openssl passwd failed: {done.stderr.strip()}")
    return f"root:{done.stdout.strip()}:19000:0:99999:7:::\n"


def privsep_passwd(passwd: str, user: str = PRIVSEP_USER) -> str:
    """``passwd`` (the text of /etc/passwd) with ``user``'s uid and gid set to 0 (pure)."""
    lines = []
    for line in passwd.splitlines():
        fields = line.split(":")
        if len(fields) == 7 and fields[0] == user:
            fields[2] = fields[3] = "0"
        lines.append(":".join(fields))
    return "".join(f"{line}\n" for line in lines)


def privsep_user_unmapped() -> bool:
    """True when sshd's privilege-separation user has no id in this user namespace."""
    try:
        uid = pwd.getpwnam(PRIVSEP_USER).pw_uid
    except KeyError:
        return False   # sshd reports the missing user itself
    return not maps_uid(uid)


def start_script(config: Path, shadow: Path | None, passwd: Path | None = None) -> str:
    """The shell run inside the private mount namespace before exec'ing sshd (its files, in
    ``config``'s directory, stay visible under the private ``/run``: :func:`cover_run`)."""
    steps = ["set -e", *cover_run("natsim-run", config.parent), "mkdir -m 755 /run/sshd",
             "mount -t tmpfs -o mode=755 natsim-log /var/log"]
    for private, public in ((shadow, "/etc/shadow"), (passwd, "/etc/passwd")):
        if private is not None:
            steps.append(f"mount --bind {_quoted(private)} {public}")
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
    workdir = lab.scratch("sshd-")
    proc = None
    try:
        key = workdir / "ssh_host_ed25519_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"natsim-{node}",
                        "-f", str(key)],
                       check=True, capture_output=True)
        write_file(workdir / "authorized_keys", "".join(k.strip() + "\n" for k in authorized_keys))
        text = render_config(workdir, port, password=password is not None, options=options or {})
        config = write_file(workdir / "sshd_config", text)
        shadow = write_file(workdir / "shadow", shadow_line(password), mode=0o600)
        passwd = None
        if privsep_user_unmapped():
            _, node_passwd = lab.run(node, ["cat", "/etc/passwd"], check=True)   # the node's (lab home)
            passwd = write_file(workdir / "passwd", privsep_passwd(node_passwd))
        test = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True, check=False)
        if test.returncode != 0 and "privilege separation" not in test.stderr.lower():
            raise LabError(f"sshd rejects its config: {test.stderr.strip()}")
        with open_new(workdir / "sshd.log") as log:
            proc = lab.popen(node, ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                                    start_script(config, shadow, passwd)],
                             stdout=log, stderr=subprocess.STDOUT)
        lab.wait_port(node, port, proc, timeout=ready_timeout, log=workdir / "sshd.log")
        yield SshdHandle(node, port, workdir, (key.with_suffix(".pub")).read_text().strip(), proc)
    finally:
        if proc is not None:
            proc.stop()
        shutil.rmtree(workdir, ignore_errors=True)
