"""The load balancer's reset daemon without a lab: which flows it follows, the sequence numbers it puts
in its RSTs, when it looks at a flow, and RST packets a real parser reads back (scapy)."""

from __future__ import annotations

import struct

from scapy.layers.inet import IP, TCP

from natsim.middleboxes.load_balancer.packets import ACK, FIN, RST, SYN, TcpPacket, after, parse_frame, rst
from natsim.middleboxes.load_balancer.resetd import MARGIN, Flows

VIP, CLIENT, BACKEND = "198.51.100.1", "198.51.100.10", "203.0.113.10"


def packet(src: str, dst: str, sport: int, dport: int, seq: int, ack: int, flags: int,
           length: int = 0) -> TcpPacket:
    return TcpPacket(src, dst, sport, dport, seq, ack, flags, length)


def handshake(flows: Flows, at: float = 0.0) -> None:
    flows.seen(packet(CLIENT, VIP, 40000, 80, 1000, 0, SYN), at)
    flows.seen(packet(BACKEND, CLIENT, 80, 40000, 5000, 1001, SYN | ACK), at)
    flows.seen(packet(CLIENT, VIP, 40000, 80, 1001, 5001, ACK), at)


def test_a_balanced_flow_is_followed_with_both_sides_next_sequence_numbers() -> None:
    flows = Flows({VIP}, set(), timeout=2.0)
    handshake(flows)
    flows.seen(packet(CLIENT, VIP, 40000, 80, 1001, 5001, ACK | 0x08, length=10), 0.5)
    flows.seen(packet(BACKEND, CLIENT, 80, 40000, 5001, 1011, ACK | 0x08, length=3), 0.6)
    flows.seen(packet(CLIENT, VIP, 40000, 80, 1010, 5004, ACK), 1.0)   # a keepalive probe: seq - 1, no data
    (flow,) = flows.flows.values()
    assert (flow.client_next, flow.backend_next, flow.backend, flow.established) == \
        (1011, 5004, BACKEND, True)
    assert flows.next_due() == 1.0 + 2.0 + MARGIN
    assert flows.due_now(3.0) == [] and len(flows.due_now(3.0 + MARGIN)) == 1


def test_closing_unanswered_and_other_flows_are_left_alone() -> None:
    flows = Flows({VIP}, {443}, timeout=2.0)
    flows.seen(packet(CLIENT, VIP, 40001, 80, 1, 0, SYN), 0.0)          # a port it does not listen on
    flows.seen(packet(CLIENT, "203.0.113.10", 40002, 80, 1, 0, SYN), 0.0)   # routed, not to the VIP
    assert flows.flows == {}
    flows = Flows({VIP}, set(), timeout=2.0)
    flows.seen(packet(CLIENT, VIP, 40003, 80, 1, 0, SYN), 0.0)          # never answered by a backend
    assert flows.next_due() is None
    handshake(flows)
    flows.seen(packet(BACKEND, CLIENT, 80, 40000, 5001, 1001, FIN | ACK), 0.5)
    assert (CLIENT, 40000, 80) not in flows.flows                         # closing: no reset at expiry


def test_a_packet_after_the_timeout_does_not_refresh_the_flow() -> None:
    """The kernel dropped it (the entry had expired): the daemon looks at the flow now, not a timeout
    later."""
    flows = Flows({VIP}, set(), timeout=2.0)
    handshake(flows)
    flows.seen(packet(CLIENT, VIP, 40000, 80, 1001, 5001, ACK | 0x08, length=1), 2.001)
    (flow,) = flows.flows.values()
    assert (flow.last, flow.client_next) == (0.0, 1001)
    assert [k for k, _ in flows.due_now(2.0 + MARGIN)] == [(CLIENT, 40000, 80)]


def test_serial_number_order_wraps() -> None:
    assert after(5, 0xFFFFFFF0) and not after(0xFFFFFFF0, 5) and not after(7, 7)


def test_the_rst_is_a_valid_tcp_segment_with_the_given_numbers() -> None:
    raw = rst((VIP, 80), (CLIENT, 40000), 5004, 1011)
    parsed = IP(raw)
    assert (parsed.src, parsed.dst, parsed[TCP].sport, parsed[TCP].dport) == (VIP, CLIENT, 80, 40000)
    assert (parsed[TCP].seq, parsed[TCP].ack, str(parsed[TCP].flags)) == (5004, 1011, "RA")
    again = IP(raw)
    del again.chksum, again[TCP].chksum                 # scapy computes both again: the same values
    recomputed = IP(bytes(again))
    assert (recomputed.chksum, recomputed[TCP].chksum) == (parsed.chksum, parsed[TCP].chksum)
    frame = b"\0" * 12 + struct.pack("!H", 0x0800) + raw
    assert parse_frame(frame) == TcpPacket(VIP, CLIENT, 80, 40000, 5004, 1011, RST | ACK, 0)
    assert parse_frame(b"\0" * 12 + struct.pack("!H", 0x86DD) + raw) is None   # not IPv4
