"""How an SSH session ended, and its verdict: decided from what happened to its TCP connection.

The lab's OpenSSH runs through natsim's relay (:mod:`natsim.probes.ssh.proxycommand`, its ``ProxyCommand``),
which owns the TCP socket and writes down the first error the kernel reported (its errno), a FIN from
the server, or that ssh itself hung up; the model knows the same from its socket. OpenSSH's own words
cannot tell them apart: after an RST it often reports the ``Broken pipe`` of its goodbye message.
Both sides decide with :func:`session_verdict`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from natsim.report.schema import Verdict, errno_name, errno_verdict


def session_verdict(errno: int | None, *, peer_closed: bool, gave_up: bool) -> Verdict:
    """The verdict of a session that ended early.

    ``errno``: the socket's error (an RST: reset, a kernel timeout: dead); ``peer_closed``: the
    server sent FIN (eof); ``gave_up``: ssh quit on its own after its requests went unanswered
    (``ServerAliveCountMax``: dead). Anything else is an error of the session itself.
    """
    if errno is not None:
        return errno_verdict(errno)
    if peer_closed:
        return Verdict.EOF
    if gave_up:
        return Verdict.DEAD
    return Verdict.ERROR


@dataclass(frozen=True)
class RelayStatus:
    """What the relay saw of its TCP connection (times: the relay's monotonic clock)."""

    end: str = "running"            # "error", "eof" (server's FIN), "hangup" (ssh closed), "running"
    errno: int | None = None
    connected: bool = False
    last_sent: float | None = None      # last bytes written towards the server
    last_received: float | None = None  # last bytes read from the server

    @property
    def unanswered(self) -> bool:
        """Bytes went out after the last ones came back: the server stayed silent."""
        return self.last_sent is not None and (self.last_received is None
                                               or self.last_sent > self.last_received)

    @classmethod
    def load(cls, path: Path) -> RelayStatus:
        """The relay's status file (``running`` when it wrote none: it is still up, or was killed)."""
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return cls()
        return cls(end=str(data.get("end", "running")), errno=data.get("errno"),
                   connected=bool(data.get("connected")), last_sent=data.get("last_sent"),
                   last_received=data.get("last_received"))

    def verdict(self, returncode: int | None) -> Verdict:
        """The verdict of an ssh run that ended with ``returncode`` over this connection: ``ok`` when
        ssh exited with its remote command's status (not 255) and the connection had no error."""
        if returncode is not None and returncode != 255 and self.errno is None:
            return Verdict.OK
        return session_verdict(self.errno, peer_closed=self.end == "eof",
                               gave_up=self.end == "hangup" and self.unanswered)

    def describe(self, host: str, port: int) -> str:
        """What happened, for people: ``'ECONNRESET: Connection reset by peer'``; the server's FIN in
        the words ssh uses without a ProxyCommand (``'Connection closed by HOST port PORT'``)."""
        if self.errno is not None:
            return f"{errno_name(self.errno)}: {os.strerror(self.errno)}"
        if self.end == "eof":
            return f"Connection closed by {host} port {port}"
        return {"hangup": "ssh hung up", "running": "no end recorded"}.get(self.end, self.end)
