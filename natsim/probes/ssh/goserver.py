"""``go-ssh``: an SSH server that negotiates like the incident's ``golang.org/x/crypto/ssh`` server.

Banner ``SSH-2.0-Go``; key exchanges exactly :data:`~natsim.probes.ssh.wire.GO_SERVER_KEX` (all six
are implemented by asyncssh, so the list is reproduced exactly — in particular it has no
Diffie-Hellman group exchange, which is why a proxy offering only group exchange fails); password
authentication; ``exec`` runs the command with ``/bin/sh -c``; a shell reads lines and runs each.

``python -m natsim.probes.ssh.goserver --port 2222 --user natsim --password natsim``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import asyncssh

from natsim.outfiles import write_file
from natsim.probes.ssh.backends import GO_SSH_PORT, LAB_PASSWORD, LAB_USER
from natsim.probes.ssh.wire import GO_SERVER_KEX

GO_SERVER_VERSION = "Go"
DEFAULT_PORT, DEFAULT_USER, DEFAULT_PASSWORD = GO_SSH_PORT, LAB_USER, LAB_PASSWORD

log = logging.getLogger("natsim.go-ssh")


class _PasswordServer(asyncssh.SSHServer):
    """Password authentication against one configured account."""

    def __init__(self, user: str, password: str) -> None:
        self.user = user
        self.password = password

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        peer = conn.get_extra_info("peername")
        log.info("connection from %s:%s (%s)", peer[0], peer[1], conn.get_extra_info("client_version"))

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == self.user and hmac.compare_digest(password.encode(), self.password.encode())


async def _handle(process: asyncssh.SSHServerProcess[str]) -> None:
    """exec: run the command; shell: a tiny line shell."""
    command = process.command
    if command is not None:
        process.exit(await _run(process, command))
        return
    prompt = "go-ssh$ "
    process.stdout.write(prompt)
    while True:
        try:
            line = await process.stdin.readline()
        except (asyncssh.BreakReceived, asyncssh.SignalReceived, asyncssh.TerminalSizeChanged):
            continue
        if not line:
            break
        line = line.strip()
        if line in ("exit", "logout"):
            break
        if line:
            await _run(process, line, interactive=True)
        process.stdout.write(prompt)
    process.exit(0)


async def _run(process: asyncssh.SSHServerProcess[str], command: str, *, interactive: bool = False) -> int:
    """Run ``command`` with /bin/sh, streaming its output; its exit status."""
    proc = await asyncio.create_subprocess_shell(
        command, stdin=asyncio.subprocess.DEVNULL if interactive else asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    if interactive:
        out, err = await proc.communicate()
        process.stdout.write(out.decode(errors="replace").replace("\n", "\r\n"))
        process.stderr.write(err.decode(errors="replace").replace("\n", "\r\n"))
        return proc.returncode or 0
    await process.redirect(stdin=proc.stdin, stdout=proc.stdout, stderr=proc.stderr)
    status = await proc.wait()
    with contextlib.suppress(Exception):
        await process.stdout.drain()
        await process.stderr.drain()
    return status


async def start_server(host: str = "", port: int = DEFAULT_PORT, *, user: str = DEFAULT_USER,
                       password: str = DEFAULT_PASSWORD, host_key: asyncssh.SSHKey | None = None,
                       kex: Sequence[str] = GO_SERVER_KEX) -> asyncssh.SSHAcceptor:
    """Listen like the Go server; returns the acceptor (``close()`` it to stop)."""
    key = host_key or asyncssh.generate_private_key("ssh-ed25519")
    return await asyncssh.listen(
        host, port, server_factory=lambda: _PasswordServer(user, password), server_host_keys=[key],
        kex_algs=list(kex), server_version=GO_SERVER_VERSION, process_factory=_handle,
        reuse_address=True, keepalive_interval=0)


async def _serve(args: argparse.Namespace) -> None:
    key = None
    if args.host_key is not None:
        if not args.host_key.exists():
            key_text = asyncssh.generate_private_key("ssh-ed25519").export_private_key()
            write_file(args.host_key, key_text, mode=0o600)   # never through a link
        key = asyncssh.read_private_key(str(args.host_key))
    server = await start_server(args.listen, args.port, user=args.user, password=args.password, host_key=key)
    log.info("go-ssh listening on %s:%d kex=%s", args.listen or "*", args.port, ",".join(GO_SERVER_KEX))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m natsim.probes.ssh.goserver``."""
    p = argparse.ArgumentParser(prog="python -m natsim.probes.ssh.goserver", description=__doc__)
    p.add_argument("--listen", default="")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--user", default=DEFAULT_USER)
    p.add_argument("--password", default=DEFAULT_PASSWORD)
    p.add_argument("--host-key", type=Path, help="host key file (created when missing)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s go-ssh %(message)s", stream=sys.stderr)
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
