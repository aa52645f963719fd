"""The wire protocol of the NAT-TCP-test services (what the original C clients expect).

* **echo** (port 31415): the server reads once, up to 64 bytes, writes them back and closes.
  tcp-send-test writes ``b"A"`` and expects ``b"A"``; tcp-keepalive-test connects and never sends.
* **sleep** (port 27182): the client sends a decimal number of real-world seconds and ``\\n``
  (``b"3600\\n"``); the server sleeps that long (divided by its time scale), writes the same bytes
  back and closes. Anything else — not a number, above 86400, longer than 64 bytes — gets a close.
"""

from __future__ import annotations

import re

from natsim.errors import ProbeError
from natsim.probes.service import Service

ECHO_PORT = 31415
SLEEP_PORT = 27182
#: The two services ``natsim serve`` provides.
ECHO = Service("echo", ECHO_PORT)
SLEEP = Service("sleep", SLEEP_PORT)
#: The echo service reads once, at most this many bytes (the original's buffer).
ECHO_READ_MAX = 64
#: Longest sleep request accepted, newline included.
REQUEST_MAX = 64
#: Longest sleep the server accepts (real-world seconds).
MAX_SLEEP = 86400
#: What tcp-send-test writes.
SEND_BYTE = b"A"

_NUMBER = re.compile(rb"[0-9]{1,10}")


class BadRequest(ProbeError):
    """A sleep request the server refuses (the connection is closed without a reply)."""


def parse_sleep_request(line: bytes) -> int:
    """Seconds requested by ``line`` (one request including its ``\\n``; a trailing ``\\r`` is allowed).

    Raises :class:`BadRequest` for anything but a decimal number of at most :data:`MAX_SLEEP`.
    """
    if len(line) > REQUEST_MAX:
        raise BadRequest(f"request longer than {REQUEST_MAX} bytes")
    if not line.endswith(b"\n"):
        raise BadRequest("request not terminated by a newline")
    body = line[:-1].rstrip(b"\r")
    if not _NUMBER.fullmatch(body):
        raise BadRequest(f"not a decimal number: {body[:20]!r}")
    seconds = int(body)
    if seconds > MAX_SLEEP:
        raise BadRequest(f"{seconds} s is above the limit of {MAX_SLEEP} s")
    return seconds


def echo_reply(data: bytes) -> bytes:
    """What the echo service writes back for the first read ``data``: at most :data:`ECHO_READ_MAX`
    bytes of it (the rest is never read)."""
    return data[:ECHO_READ_MAX]


def sleep_request(seconds: int) -> bytes:
    """The request a client sends to sleep ``seconds`` real-world seconds (``b"3600\\n"``)."""
    if not 0 <= seconds <= MAX_SLEEP:
        raise ProbeError(f"sleep of {seconds} s is outside 0..{MAX_SLEEP} s")
    return f"{seconds}\n".encode()
