"""The IPv4 and TCP header fields the reset daemon reads from a frame and the RST it writes.

Written out with :mod:`struct` rather than with scapy (which natsim's lab extras bring): the daemon
parses every frame its node sees, where scapy's dissection costs milliseconds per packet and its import
a second at start-up; only the fixed header fields below are needed.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

ETH_HEADER = 14
ETH_P_IP = 0x0800
IPPROTO_TCP = 6
FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10
SEQ_SPACE = 1 << 32


@dataclass(frozen=True)
class TcpPacket:
    """One TCP segment as seen on the wire (addresses as text, ``length``: payload bytes)."""

    src: str
    dst: str
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    length: int

    @property
    def next_seq(self) -> int:
        """The sequence number after this segment (SYN and FIN count one)."""
        return (self.seq + self.length + (1 if self.flags & SYN else 0) + (1 if self.flags & FIN else 0)) \
            % SEQ_SPACE


def parse_frame(frame: bytes) -> TcpPacket | None:
    """The TCP segment of an Ethernet frame carrying IPv4, or None for anything else."""
    if len(frame) < ETH_HEADER + 20 or struct.unpack_from("!H", frame, 12)[0] != ETH_P_IP:
        return None
    ip = frame[ETH_HEADER:]
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack_from("!H", ip, 2)[0]
    if ip[0] >> 4 != 4 or ip[9] != IPPROTO_TCP or len(ip) < ihl + 20 or total < ihl + 20:
        return None
    sport, dport, seq, ack, offset, flags = struct.unpack_from("!HHIIBB", ip, ihl)
    length = total - ihl - (offset >> 4) * 4
    return TcpPacket(str(ipaddress.IPv4Address(ip[12:16])), str(ipaddress.IPv4Address(ip[16:20])),
                     sport, dport, seq, ack, flags, max(0, length))


def after(a: int, b: int) -> bool:
    """Whether sequence number ``a`` comes after ``b`` (RFC 1982 serial arithmetic, as TCP's)."""
    return 0 < (a - b) % SEQ_SPACE < SEQ_SPACE // 2


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def rst(src: tuple[str, int], dst: tuple[str, int], seq: int, ack: int) -> bytes:
    """An IPv4 packet holding an RST+ACK from ``src`` to ``dst`` (for a raw ``IPPROTO_RAW`` socket)."""
    s, d = ipaddress.IPv4Address(src[0]).packed, ipaddress.IPv4Address(dst[0]).packed
    header = struct.pack("!HHIIBBHHH", src[1], dst[1], seq, ack, 5 << 4, RST | ACK, 0, 0, 0)
    pseudo = s + d + struct.pack("!BBH", 0, IPPROTO_TCP, len(header))
    tcp = header[:16] + struct.pack("!H", _checksum(pseudo + header)) + header[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, IPPROTO_TCP, 0, s, d)
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    return ip + tcp
