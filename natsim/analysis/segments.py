"""Reading pcaps into plain TCP segment records (scapy does the parsing).

A :class:`Segment` is one TCP packet seen on one link. Its :attr:`Segment.fingerprint` is what a
NAT, bridge or router leaves unchanged (IP ID, sequence and acknowledgment numbers, flags, payload
length, TCP timestamp), so the same packet can be recognised on both sides of a middlebox even
when its addresses and ports were translated.
"""

from __future__ import annotations

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


def read_segments(path: Path, link: str | None = None) -> list[Segment]:
    """Every IPv4 TCP segment of a pcap, in capture order."""
    from scapy.layers.inet import IP, TCP
    from scapy.utils import PcapReader

    link = link or path.stem
    result: list[Segment] = []
    try:
        reader = PcapReader(str(path))
    except Exception as err:  # scapy raises its own Scapy_Exception, or OSError
        raise AnalysisError(f"{path}: cannot read pcap: {err}") from err
    with reader:
        for index, packet in enumerate(reader):
            if IP not in packet or TCP not in packet:
                continue
            ip, tcp = packet[IP], packet[TCP]
            tsval = None
            for option in tcp.options:
                if option[0] == "Timestamp":
                    tsval = int(option[1][0])
            payload = bytes(tcp.payload)
            length = max(0, int(ip.len) - int(ip.ihl) * 4 - int(tcp.dataofs) * 4)
            result.append(Segment(
                link=link, index=index, time=float(packet.time), src=str(ip.src), sport=int(tcp.sport),
                dst=str(ip.dst), dport=int(tcp.dport), flags=flag_text(int(tcp.flags)),
                seq=int(tcp.seq), ack=int(tcp.ack), length=length, ip_id=int(ip.id), tsval=tsval,
                payload=payload[:length]))
    return result
