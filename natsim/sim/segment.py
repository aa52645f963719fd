"""A TCP segment as the model's middleboxes and endpoints see it (addresses are ``(host, port)``)."""

from __future__ import annotations

from dataclasses import dataclass

Addr = tuple[str, int]


@dataclass(frozen=True)
class Segment:
    """A TCP segment as far as middleboxes and endpoints care.

    ``flags`` is a string of ``S`` (SYN), ``A`` (ACK), ``F`` (FIN), ``R`` (RST), ``P`` (data);
    ``seq`` numbers data segments 1, 2, ...; ``ack`` is the last data segment received.
    """

    src: Addr
    dst: Addr
    flags: str
    conn: str
    seq: int = 0
    ack: int = 0
    data: str = ""
    keepalive: bool = False

    def what(self) -> str:
        """Short description for traces: ``SYN``, ``data``, ``keepalive probe``, ``ACK``, ..."""
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
        return Segment(src, self.dst, self.flags, self.conn, self.seq, self.ack, self.data, self.keepalive)

    def with_dst(self, dst: Addr) -> Segment:
        """Copy with a rewritten destination (reverse NAT)."""
        return Segment(self.src, dst, self.flags, self.conn, self.seq, self.ack, self.data, self.keepalive)
