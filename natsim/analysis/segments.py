"""Reading pcaps into plain packet records (scapy reads the files, struct the headers).

A :class:`Segment` is one TCP segment, UDP datagram or ICMP error about a UDP datagram seen on one link.
Its :attr:`Segment.fingerprint` is what a NAT, bridge or router leaves unchanged (IP ID, sequence and
acknowledgment numbers, flags, payload length, TCP timestamp; for a datagram a checksum of its
payload), so the same packet can be recognised on both sides of a middlebox even when its addresses
and ports were translated. An ICMP error carries the ports of the datagram it is about, turned round
(it travels back), so it joins that datagram's flow.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

from natsim.errors import NatsimError

#: TCP flag bits in the order they are printed (``SA``, ``FA``, ``PA``, ``R``).
_FLAG_BITS = (("S", 0x02), ("F", 0x01), ("R", 0x04), ("P", 0x08), ("A", 0x10))
#: IP protocol numbers.
TCP, UDP, ICMP = 6, 17, 1
#: ICMP destination unreachable codes, by name (what a stack or middlebox answers a datagram with).
UNREACHABLE = {0: "net unreachable", 1: "host unreachable", 2: "protocol unreachable",
               3: "port unreachable", 9: "net prohibited", 10: "host prohibited",
               13: "administratively prohibited"}


class AnalysisError(NatsimError):
    """A capture directory or pcap cannot be analysed."""

    exit_code = 2


@dataclass(frozen=True)
class Segment:
    """One TCP segment captured on one link."""

    link: str
    index: int
    time: float
    src: str
    sport: int
    dst: str
    dport: int
    flags: str
    seq: int
    ack: int
    length: int
    ip_id: int
    tsval: int | None
    payload: bytes
    protocol: str = "tcp"   # tcp, udp, or icmp (an error about a UDP datagram)

    @property
    def source(self) -> str:
        """``address:port`` of the sender as seen on this link."""
        return f"{self.src}:{self.sport}"

    @property
    def destination(self) -> str:
        """``address:port`` of the receiver as seen on this link."""
        return f"{self.dst}:{self.dport}"

    @property
    def fingerprint(self) -> tuple[int, int, int, str, int, int | None]:
        """What stays the same when a middlebox forwards (or translates) this packet."""
        return (self.ip_id, self.seq, self.ack, self.flags, self.length, self.tsval)

    @property
    def seq_end(self) -> int:
        """Sequence number after this segment (SYN and FIN count one)."""
        return self.seq + self.length + ("S" in self.flags) + ("F" in self.flags)

    def describe(self) -> str:
        """``'PA seq 5:14 ack 5'`` style summary (``'udp len 48'``, ``'ICMP port unreachable'``)."""
        if self.protocol == "udp":
            return f"udp len {self.length}"
        if self.protocol == "icmp":
            return f"ICMP {self.flags}"
        text = self.flags
        if self.length:
            text += f" seq {self.seq}:{self.seq + self.length}"
        elif "S" in self.flags or "F" in self.flags or "R" in self.flags:
            text += f" seq {self.seq}"
        if "A" in self.flags:
            text += f" ack {self.ack}"
        return text + (f" len {self.length}" if self.length else "")


def flag_text(bits: int) -> str:
    """TCP flag bits as ``'SA'``, ``'PA'``, ``'FA'``, ``'R'``."""
    return "".join(letter for letter, bit in _FLAG_BITS if bits & bit)


def _timestamp(reader: object, meta: object) -> float:
    """Seconds since the epoch from scapy's raw pcap or pcapng metadata."""
    if hasattr(meta, "sec"):
        scale = 1e9 if getattr(reader, "nano", False) else 1e6
        return float(meta.sec) + float(meta.usec) / scale  # type: ignore[attr-defined]
    stamp = (int(meta.tshigh) << 32) | int(meta.tslow)  # type: ignore[attr-defined]
    return stamp / float(meta.tsresol)  # type: ignore[attr-defined]


def parse_frame(link: str, index: int, time: float, frame: bytes, linktype: int) -> Segment | None:
    """A :class:`Segment` from one Ethernet (1), Linux cooked (113) or raw IP (101) frame, or None
    (not IPv4, or neither TCP, UDP nor an ICMP error about a UDP datagram)."""
    if linktype == 1:
        offset = 14
        ethertype = struct.unpack_from(">H", frame, 12)[0] if len(frame) >= 14 else 0
        while ethertype == 0x8100 and len(frame) >= offset + 4:  # VLAN tags
            ethertype = struct.unpack_from(">H", frame, offset + 2)[0]
            offset += 4
        if ethertype != 0x0800:
            return None
    elif linktype == 113:
        offset = 16
        if len(frame) < 16 or struct.unpack_from(">H", frame, 14)[0] != 0x0800:
            return None
    elif linktype in (101, 228):
        offset = 0
    else:
        raise AnalysisError(f"{link}: unsupported link type {linktype}")
    if len(frame) < offset + 20 or frame[offset] >> 4 != 4:
        return None
    ihl = (frame[offset] & 0x0F) * 4
    total, ip_id = struct.unpack_from(">HH", frame, offset + 2)
    src, dst = (".".join(str(b) for b in frame[offset + 12 + i: offset + 16 + i]) for i in (0, 4))
    head = Segment(link=link, index=index, time=time, src=src, sport=0, dst=dst, dport=0, flags="", seq=0,
                   ack=0, length=0, ip_id=ip_id, tsval=None, payload=b"")
    protocol = frame[offset + 9]
    if protocol == TCP:
        return _tcp(head, frame, offset + ihl, total - ihl)
    if protocol == UDP:
        return _udp(head, frame, offset + ihl, total - ihl)
    if protocol == ICMP:
        return _icmp(head, frame, offset + ihl)
    return None


def _tcp(head: Segment, frame: bytes, tcp: int, ip_payload: int) -> Segment | None:
    if len(frame) < tcp + 20:
        return None
    sport, dport, seq, ack, off_flags = struct.unpack_from(">HHIIH", frame, tcp)
    data_offset = (off_flags >> 12) * 4
    tsval = None
    pos, end = tcp + 20, min(tcp + data_offset, len(frame))
    while pos < end:  # TCP options: look for the timestamp (kind 8)
        kind = frame[pos]
        if kind == 0:
            break
        if kind == 1:
            pos += 1
            continue
        if pos + 1 >= end or frame[pos + 1] < 2:
            break
        if kind == 8 and pos + 10 <= end:
            tsval = struct.unpack_from(">I", frame, pos + 2)[0]
        pos += frame[pos + 1]
    length = max(0, ip_payload - data_offset)
    payload = frame[tcp + data_offset: tcp + data_offset + length]
    return replace(head, sport=sport, dport=dport, flags=flag_text(off_flags & 0x3F), seq=seq, ack=ack,
                   length=length, tsval=tsval, payload=bytes(payload))


def _udp(head: Segment, frame: bytes, udp: int, ip_payload: int) -> Segment | None:
    if len(frame) < udp + 8:
        return None
    sport, dport, size = struct.unpack_from(">HHH", frame, udp)
    length = max(0, min(size, ip_payload) - 8)
    payload = bytes(frame[udp + 8: udp + 8 + length])
    # a NAT rewrites ports and checksums but never the payload: its checksum tells copies apart
    return replace(head, sport=sport, dport=dport, length=length, tsval=zlib.crc32(payload),
                   payload=payload, protocol="udp")


def _icmp(head: Segment, frame: bytes, icmp: int) -> Segment | None:
    """An ICMP destination unreachable about a UDP datagram, as a packet of that datagram's flow."""
    if len(frame) < icmp + 8 + 20 or frame[icmp] != 3:
        return None
    inner = icmp + 8
    inner_ihl = (frame[inner] & 0x0F) * 4
    if frame[inner] >> 4 != 4 or frame[inner + 9] != UDP or len(frame) < inner + inner_ihl + 4:
        return None
    inner_sport, inner_dport = struct.unpack_from(">HH", frame, inner + inner_ihl)
    code = frame[icmp + 1]
    return replace(head, sport=inner_dport, dport=inner_sport,
                   flags=UNREACHABLE.get(code, f"unreachable code {code}"), protocol="icmp")


def read_segments(path: Path, link: str | None = None) -> list[Segment]:
    """Every IPv4 TCP segment, UDP datagram and ICMP error about one of a pcap or pcapng file, in
    capture order.

    scapy reads the file format; headers are decoded here with :mod:`struct` (full scapy dissection
    is about 50 times slower, which matters for captures of 20,000 packets per link).
    """
    from scapy.utils import RawPcapReader

    link = link or path.stem
    result: list[Segment] = []
    try:
        reader = RawPcapReader(str(path))
    except Exception as err:  # scapy raises its own Scapy_Exception, or OSError
        raise AnalysisError(f"{path}: cannot read pcap: {err}") from err
    with reader:
        linktype = int(getattr(reader, "linktype", 1))
        for index, (frame, meta) in enumerate(reader):
            seg = parse_frame(link, index, _timestamp(reader, meta), bytes(frame),
                              int(getattr(meta, "linktype", linktype)))
            if seg is not None:
                result.append(seg)
    return result
