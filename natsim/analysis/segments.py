"""Reading pcaps into plain TCP segment records (scapy reads the files, struct the headers).

A :class:`Segment` is one TCP packet seen on one link. Its :attr:`Segment.fingerprint` is what a
NAT, bridge or router leaves unchanged (IP ID, sequence and acknowledgment numbers, flags, payload
length, TCP timestamp), so the same packet can be recognised on both sides of a middlebox even
when its addresses and ports were translated.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from natsim.errors import NatsimError

#: TCP flag bits in the order they are printed (``SA``, ``FA``, ``PA``, ``R``).
_FLAG_BITS = (("S", 0x02), ("F", 0x01), ("R", 0x04), ("P", 0x08), ("A", 0x10))


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
        """``'PA seq 5:14 ack 5'`` style summary."""
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
    """A :class:`Segment` from one Ethernet (1), Linux cooked (113) or raw IP (101) frame, or None."""
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
    if len(frame) < offset + 20 or frame[offset] >> 4 != 4 or frame[offset + 9] != 6:
        return None
    ihl = (frame[offset] & 0x0F) * 4
    total, ip_id = struct.unpack_from(">HH", frame, offset + 2)
    src, dst = (".".join(str(b) for b in frame[offset + 12 + i: offset + 16 + i]) for i in (0, 4))
    tcp = offset + ihl
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
    length = max(0, total - ihl - data_offset)
    payload = frame[tcp + data_offset: tcp + data_offset + length]
    return Segment(link=link, index=index, time=time, src=src, sport=sport, dst=dst, dport=dport,
                   flags=flag_text(off_flags & 0x3F), seq=seq, ack=ack, length=length, ip_id=ip_id,
                   tsval=tsval, payload=bytes(payload))


def read_segments(path: Path, link: str | None = None) -> list[Segment]:
    """Every IPv4 TCP segment of a pcap or pcapng file, in capture order.

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
