"""A library SSH client that behaves like a ``golang.org/x/crypto/ssh`` client.

Banner ``SSH-2.0-Go``, Go's default key-exchange preference, password authentication, and errors
worded like Go's (``ssh: handshake failed: EOF`` when the peer closes during the handshake), so a
lab run reads like the incident's logs.
"""

from __future__ import annotations

import asyncio
import errno
import time
from dataclasses import dataclass

import asyncssh

from natsim.report.schema import Verdict, errno_verdict

#: x/crypto/ssh's default client key exchanges (preference order).
GO_CLIENT_KEX = ("curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256",
                 "ecdh-sha2-nistp384", "ecdh-sha2-nistp521", "diffie-hellman-group14-sha256",
                 "diffie-hellman-group14-sha1")
GO_CLIENT_VERSION = "Go"


@dataclass
class GoAttempt:
    """The outcome of one connection attempt."""

    verdict: Verdict
    error: str = ""                # Go-style error text, "" on success
    server_banner: str = ""        # the identification line the client received
    host_key: str = ""             # the server host key, OpenSSH public-key format
    output: str = ""               # the command's stdout
    exit_status: int | None = None
    elapsed: float = 0.0           # lab seconds
    local: str = ""                # the client's address:port (names the connection in a capture)


class _Recorder(asyncssh.SSHClient):
    def __init__(self) -> None:
        self.conn: asyncssh.SSHClientConnection | None = None

    def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
        self.conn = conn


def _local(conn: asyncssh.SSHClientConnection | None) -> str:
    address = conn.get_extra_info("sockname") if conn is not None else None
    return f"{address[0]}:{address[1]}" if isinstance(address, tuple) else ""


#: The errno an OSError subclass stands for (Python picks the subclass from the errno; one built
#: without arguments has none).
_ERRNO_OF: dict[type[OSError], int] = {
    ConnectionRefusedError: errno.ECONNREFUSED, ConnectionResetError: errno.ECONNRESET,
    ConnectionAbortedError: errno.ECONNABORTED, BrokenPipeError: errno.EPIPE}


def go_error(err: BaseException, host: str, port: int) -> tuple[Verdict, str]:
    """The verdict of what ended the attempt (its exception type: asyncssh's lost connection is the
    server's FIN; an OS error by its errno) and Go's wording of it."""
    text = str(err)
    if isinstance(err, TimeoutError):
        return Verdict.DEAD, f"dial tcp {host}:{port}: i/o timeout"
    if isinstance(err, asyncssh.KeyExchangeFailed):
        return Verdict.ERROR, f"ssh: handshake failed: ssh: no common algorithm for key exchange: {text}"
    if isinstance(err, asyncssh.PermissionDenied):
        return Verdict.ERROR, ("ssh: handshake failed: ssh: unable to authenticate, attempted methods "
                               "[none password], no supported methods remain")
    if isinstance(err, asyncssh.ConnectionLost | EOFError):
        return Verdict.EOF, "ssh: handshake failed: EOF"
    if isinstance(err, OSError):
        code = err.errno if err.errno is not None else _ERRNO_OF.get(type(err))
        if code == errno.ECONNREFUSED:
            return Verdict.RESET, f"dial tcp {host}:{port}: connect: connection refused"
        if code == errno.ECONNRESET:
            return Verdict.RESET, "ssh: handshake failed: read: connection reset by peer"
        return errno_verdict(code), f"dial tcp {host}:{port}: {err.strerror or text}"
    return Verdict.ERROR, f"ssh: handshake failed: {text}"


async def go_attempt(host: str, port: int, user: str, password: str, *, command: str = "true",
                     timeout: float = 10.0, kex: tuple[str, ...] = GO_CLIENT_KEX) -> GoAttempt:
    """Dial, handshake, authenticate with ``password`` and run ``command``, like a Go client."""
    started = time.monotonic()
    recorder = _Recorder()
    conn: asyncssh.SSHClientConnection | None = None
    try:
        async with asyncio.timeout(timeout):
            conn = await asyncssh.connect(
                host, port, username=user, password=password, client_factory=lambda: recorder,
                known_hosts=None, client_keys=None, agent_path=None, config=None, gss_host=None,
                preferred_auth=("password",), kex_algs=list(kex), client_version=GO_CLIENT_VERSION,
                connect_timeout=None, keepalive_interval=0)
            key = conn.get_server_host_key()
            result = await conn.run(command, check=False)
            output = result.stdout if isinstance(result.stdout, str) else ""
            return GoAttempt(Verdict.OK, server_banner=str(conn.get_extra_info("server_version") or ""),
                             host_key=key.export_public_key().decode().strip() if key else "",
                             output=output, exit_status=result.exit_status,
                             elapsed=time.monotonic() - started, local=_local(conn))
    except (OSError, asyncssh.Error, TimeoutError, EOFError) as err:
        verdict, text = go_error(err, host, port)
        banner = ""
        if recorder.conn is not None:
            banner = str(recorder.conn.get_extra_info("server_version") or "")
        return GoAttempt(verdict, error=text, server_banner=banner, elapsed=time.monotonic() - started,
                         local=_local(recorder.conn))
    finally:
        if conn is not None:
            conn.close()
            await conn.wait_closed()
