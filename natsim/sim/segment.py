"""A packet as the model's middleboxes and endpoints see it (addresses are ``(host, port)``): a TCP segment,
a UDP datagram, or an ICMP port unreachable about a datagram."""

from __future__ import annotations

from typing import NamedTuple

Addr = tuple[str, int]

#: What :attr:`Segment.protocol` may be.
TCP, UDP, ICMP = "tcp", "udp", "icmp"


class Segment(NamedTuple):
    """A packet as far as middleboxes and endpoints care (immutable).

    TCP (``protocol`` ``tcp``, the default): ``flags`` is a string of ``S`` (SYN), ``A`` (ACK), ``F``
    (FIN), ``R`` (RST), ``P`` (data); ``seq`` numbers data segments 1, 2, ...; ``ack`` is the last data
    segment received. A UDP datagram (``udp``) carries ``payload`` and no flags. An ICMP port
    unreachable (``icmp``) names in ``about`` the (source, destination) of the datagram it answers, as
    that datagram was where the error was made; its own ``src``/``dst`` are the ports of that datagram
    turned round (as the analysis of a capture shows it).

    A named tuple, not a frozen dataclass: the model makes ~10,000 per prediction of the ISP scenario,
    and a frozen dataclass's ``__init__`` (one ``object.__setattr__`` per field) took 2.1 us against
    0.5 us (timeit, this machine), about 8 % of ``predict()``.
    """

    src: Addr
    dst: Addr
    flags: str
    conn: str
    seq: int = 0
    ack: int = 0
    data: str = ""
    keepalive: bool = False
    protocol: str = TCP
    payload: bytes = b""
    about: tuple[Addr, Addr] | None = None

    def what(self) -> str:
        """Short description for traces: ``SYN``, ``data``, ``keepalive probe``, ``ACK``, ``UDP
        datagram``, ``ICMP port unreachable``, ..."""
        if self.protocol == UDP:
            return "UDP datagram"
        if self.protocol == ICMP:
            return "ICMP port unreachable"
        if "R" in self.flags:
            return "RST"
        if self.flags == "S":
            return "SYN"
        if self.flags == "SA":
            return "SYN-ACK"
        if self.keepalive:
            return "keepalive probe"
        if self.data:
            return "data segment" + (" with FIN" if "F" in self.flags else "")
        if "F" in self.flags:
            return "FIN"
        return "ACK"

    def with_src(self, src: Addr) -> Segment:
        """Copy with a rewritten source (SNAT)."""
        return Segment(src, self.dst, self.flags, self.conn, self.seq, self.ack, self.data, self.keepalive,
                       self.protocol, self.payload, self.about)

    def with_dst(self, dst: Addr) -> Segment:
        """Copy with a rewritten destination (reverse NAT)."""
        return Segment(self.src, dst, self.flags, self.conn, self.seq, self.ack, self.data, self.keepalive,
                       self.protocol, self.payload, self.about)


def unreachable(datagram: Segment, sender: str | None = None) -> Segment:
    """The ICMP port unreachable a stack sends back about ``datagram`` (from ``sender``'s address;
    default: the address the datagram was sent to)."""
    source = (sender if sender is not None else datagram.dst[0], datagram.dst[1])
    return Segment(source, datagram.src, "", datagram.conn, protocol=ICMP,
                   about=(datagram.src, datagram.dst))
