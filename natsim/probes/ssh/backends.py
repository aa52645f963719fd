"""The SSH servers a lab can start behind a probe, as both the lab and the model see them."""

from __future__ import annotations

from dataclasses import dataclass

from natsim.probes.ssh.wire import GO_SERVER_KEX

#: OpenSSH 9.2's default server key exchanges (Debian 12).
SSHD_KEX = ("sntrup761x25519-sha512@openssh.com", "curve25519-sha256", "curve25519-sha256@libssh.org",
            "ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
            "diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512",
            "diffie-hellman-group18-sha512", "diffie-hellman-group14-sha256")
#: The lab's throw-away login: the one password of every SSH server natsim starts (go-ssh's user, sshd's
#: root, ``natsim lab --sshd``) and the user the login probes and go-ssh default to.
LAB_PASSWORD = "natsim"
LAB_USER = "natsim"
#: go-ssh's default port (the incident's server listened on 2222).
GO_SSH_PORT = 2222


@dataclass(frozen=True)
class Backend:
    """One backend: what it offers and where it listens by default."""

    name: str
    kex: tuple[str, ...]
    banner: str
    port: int


BACKENDS = {
    "go-ssh": Backend("go-ssh", GO_SERVER_KEX, "SSH-2.0-Go", GO_SSH_PORT),
    "sshd": Backend("sshd", SSHD_KEX, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", 22),
}
