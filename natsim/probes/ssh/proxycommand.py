"""natsim's own ``ProxyCommand`` for OpenSSH: relays ssh's stdin/stdout to a TCP connection it owns,
so the probe sees what happened to that connection first hand.

``python -m natsim.probes.ssh.proxycommand --status FILE [--keepalive] [--timeout S] HOST PORT`` connects,
copies bytes both ways and writes ``FILE`` (JSON, :class:`~natsim.probes.ssh.outcome.RelayStatus`)
when the connection ends: the first error the kernel reported on the socket (``errno``: ECONNRESET
after an RST, ETIMEDOUT after unanswered retransmissions or keepalive probes), a FIN from the server
(``eof``), or ssh hanging up (``hangup``), with when bytes last went each way. ``--keepalive`` sets
``SO_KEEPALIVE`` (what ssh's ``TCPKeepAlive yes`` does on its own socket, with the OS's timers).

natsim starts this module itself (never a user's program); it imports no more of natsim than
:mod:`natsim.outfiles`, so it starts in a few tens of milliseconds.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import select
import selectors
import signal
import socket
import time
from pathlib import Path
from types import FrameType
from typing import Any

from natsim.outfiles import write_file

CHUNK = 65536


class _HangUp(Exception):
    """ssh sent SIGHUP or SIGTERM: it is done with the connection."""


def _hang_up(signum: int, frame: FrameType | None) -> None:
    raise _HangUp


class Status:
    """The relay's record of its connection, written atomically to ``path`` when it ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fields: dict[str, Any] = {"end": "running", "errno": None, "connected": False,
                                       "last_sent": None, "last_received": None}

    def write(self, **fields: Any) -> None:
        """Update and write the record (only the first ``end`` other than ``running`` sticks);
        atomically and never through a link (:func:`natsim.outfiles.write_file`)."""
        if self.fields["end"] != "running":
            fields.pop("end", None)
            fields.pop("errno", None)
        self.fields.update(fields)
        write_file(self.path, json.dumps(self.fields))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def close_cleanly(sock: socket.socket, linger: float = 1.0) -> None:
    """After ssh hung up: send what it still wrote, FIN, and read until the server's FIN (at most
    ``linger`` s), so unread data never turns the close into an RST (ssh itself would close cleanly)."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        while select.select([0], [], [], 0)[0]:
            data = os.read(0, CHUNK)
            if not data:
                break
            sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(linger)
        while sock.recv(CHUNK):
            pass


def relay(sock: socket.socket, status: Status) -> None:
    """Copy between stdin/stdout and ``sock`` until one side ends; record how it ended."""
    with selectors.DefaultSelector() as selector:
        selector.register(0, selectors.EVENT_READ, "ssh")
        selector.register(sock, selectors.EVENT_READ, "server")
        while True:
            for key, _ in selector.select():
                if key.data == "ssh":
                    try:
                        data = os.read(0, CHUNK)
                    except OSError:     # ssh's end of the pipe is gone
                        data = b""
                    if not data:
                        status.write(end="hangup")
                        return
                    sock.sendall(data)  # a socket error propagates: it is what happened
                    status.fields["last_sent"] = time.monotonic()
                else:
                    data = sock.recv(CHUNK)
                    if not data:
                        status.write(end="eof")
                        return
                    status.fields["last_received"] = time.monotonic()
                    try:
                        _write_all(1, data)
                    except OSError:
                        status.write(end="hangup")
                        return


def connect(host: str, port: int, timeout: float, *, keepalive: bool) -> socket.socket:
    """A connected socket with its options set before the handshake (as ssh's own socket has them
    from the start: a keepalive timer armed the moment the connection is established)."""
    last: OSError = OSError(errno.EADDRNOTAVAIL, f"no address for {host}")
    for family, kind, proto, _, address in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if keepalive:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            sock.settimeout(timeout)
            sock.connect(address)
            sock.settimeout(None)
            return sock
        except OSError as err:
            sock.close()
            last = err
    raise last


def main(argv: list[str] | None = None) -> int:
    """Connect, relay, record; exit 0 when ssh hung up, 1 when the connection failed."""
    parser = argparse.ArgumentParser(prog="python -m natsim.probes.ssh.proxycommand", description=__doc__)
    parser.add_argument("--status", type=Path, required=True, help="where to write how it ended (JSON)")
    parser.add_argument("--keepalive", action="store_true", help="SO_KEEPALIVE (ssh's TCPKeepAlive)")
    parser.add_argument("--timeout", type=float, default=10.0, help="connect timeout (seconds)")
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    args = parser.parse_args(argv)
    status = Status(args.status)
    signal.signal(signal.SIGHUP, _hang_up)
    signal.signal(signal.SIGTERM, _hang_up)
    sock: socket.socket | None = None
    try:
        try:
            sock = connect(args.host, args.port, args.timeout, keepalive=args.keepalive)
        except TimeoutError:
            status.write(end="error", errno=errno.ETIMEDOUT)
            return 1
        status.write(connected=True)
        relay(sock, status)
        if status.fields["end"] == "hangup":
            close_cleanly(sock)
        return 0
    except _HangUp:
        status.write(end="hangup")
        if sock is not None:
            close_cleanly(sock)
        return 0
    except OSError as err:
        status.write(end="error", errno=err.errno)
        return 1
    finally:
        if sock is not None:
            sock.close()


if __name__ == "__main__":
    raise SystemExit(main())
