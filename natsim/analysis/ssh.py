"""SSH in a captured connection: both identification banners and both KEXINIT messages (RFC 4253).

Each direction's byte stream is rebuilt from the segments its sender emitted (duplicates and
retransmissions removed), so the lists are what each side *offered*, before any middlebox.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from natsim.analysis.connections import Connection
from natsim.analysis.segments import Segment

MSG_KEXINIT = 20
#: The ten name-lists of SSH_MSG_KEXINIT, in wire order (RFC 4253 §7.1).
KEXINIT_LISTS = (
    "kex_algorithms", "server_host_key_algorithms",
    "encryption_client_to_server", "encryption_server_to_client",
    "mac_client_to_server", "mac_server_to_client",
    "compression_client_to_server", "compression_server_to_client",
    "languages_client_to_server", "languages_server_to_client",
)


@dataclass
class SshSide:
    """What one side of an SSH connection sent."""

    banner: str | None = None
    kexinit: dict[str, list[str]] = field(default_factory=dict)
    first_kex_packet_follows: bool | None = None
    error: str | None = None


@dataclass
class SshSummary:
    """Both sides' banners and KEXINIT lists."""

    client: SshSide
    server: SshSide

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the incident write-up's wording."""
        def side(s: SshSide) -> dict[str, Any]:
            return {"banner": s.banner, "kexinit": s.kexinit, "error": s.error}
        return {"offered by client": side(self.client), "offered by server": side(self.server)}


def stream(segments: list[Segment]) -> bytes:
    """The in-order payload of one direction, from its first data byte, stopping at a hole."""
    sent = [s for s in segments if s.length]
    if not sent:
        return b""
    base = sent[0].seq  # the first data sent; sort relative to it (sequence numbers wrap)
    data = sorted(sent, key=lambda s: (s.seq - base) & 0xFFFFFFFF)
    out = bytearray()
    start = data[0].seq
    for seg in data:
        offset = (seg.seq - start) & 0xFFFFFFFF
        if offset > len(out):
            break
        out += seg.payload[len(out) - offset:]
    return bytes(out)


def parse_side(data: bytes) -> SshSide:
    """Banner and KEXINIT from the start of one direction's stream."""
    side = SshSide()
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        if end < 0:
            side.error = "banner line incomplete"
            return side
        line = data[pos:end].rstrip(b"\r").decode(errors="replace")
        pos = end + 1
        if line.startswith("SSH-"):
            side.banner = line
            break
    if side.banner is None:
        side.error = "no SSH identification line"
        return side
    if len(data) < pos + 6:
        side.error = "no binary packet after the banner"
        return side
    length, padding = struct.unpack_from(">IB", data, pos)
    payload = data[pos + 5: pos + 4 + length - padding]
    if len(payload) < 1 or payload[0] != MSG_KEXINIT:
        side.error = "first binary packet is not KEXINIT (or was not captured whole)"
        return side
    try:
        offset = 1 + 16  # message type, cookie
        for name in KEXINIT_LISTS:
            (size,) = struct.unpack_from(">I", payload, offset)
            offset += 4
            text = payload[offset: offset + size].decode()
            if len(text) != size:
                raise ValueError(name)
            side.kexinit[name] = text.split(",") if text else []
            offset += size
        side.first_kex_packet_follows = bool(payload[offset])
    except (struct.error, ValueError, UnicodeDecodeError, IndexError):
        side.error = "KEXINIT truncated (snapshot length too small?)"
    return side


def ssh_summary(conn: Connection) -> SshSummary | None:
    """Banners and KEXINITs of ``conn``, or None when it does not carry SSH."""
    sides: dict[bool, list[Segment]] = {True: [], False: []}
    for transit in conn.transits:
        if transit.origin in (conn.initiator, conn.responder):
            sides[conn.from_initiator(transit)].append(transit.first)
    client, server = stream(sides[True]), stream(sides[False])
    if not client.startswith(b"SSH-") and not server.lstrip().startswith(b"SSH-") \
            and b"\nSSH-" not in server[:1024]:
        return None
    return SshSummary(parse_side(client), parse_side(server))
