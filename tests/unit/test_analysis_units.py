"""Pure pieces of the analysis: sequence arithmetic, SSH parsing, flows, chain paths, ladders."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from natsim.analysis import AnalysisError, analyze_directory, draw_ladder
from natsim.analysis.capture_dir import CaptureDir, Link
from natsim.analysis.connections import group_connections, link_flows
from natsim.analysis.events import seq_after
from natsim.analysis.segments import Segment, flag_text
from natsim.analysis.ssh import KEXINIT_LISTS, parse_side, stream
from natsim.lab.capture import LinkPoint, chain_path
from tests.unit import plugin_kinds

PCAPS = Path(__file__).parents[1] / "golden" / "pcaps"


def seg(seq: int, payload: bytes = b"", flags: str = "PA", *, sport: int = 40000, index: int = 0,
        time: float = 0.0) -> Segment:
    return Segment(link="l", index=index, time=time, src="100.64.1.10", sport=sport, dst="203.0.113.10",
                   dport=22, flags=flags, seq=seq, ack=1, length=len(payload), ip_id=index, tsval=None,
                   payload=payload)


def test_seq_after_wraps_around() -> None:
    assert seq_after(5, 0xFFFFFFF0)
    assert not seq_after(0xFFFFFFF0, 5)
    assert not seq_after(7, 7)


def test_flag_text() -> None:
    assert flag_text(0x12) == "SA"
    assert flag_text(0x11) == "FA"
    assert flag_text(0x04) == "R"


def kexinit(lists: dict[str, str]) -> bytes:
    body = bytes([20]) + b"C" * 16
    for name in KEXINIT_LISTS:
        text = lists.get(name, "").encode()
        body += struct.pack(">I", len(text)) + text
    body += b"\x00" + b"\x00\x00\x00\x00"
    padding = 4
    return struct.pack(">IB", len(body) + padding + 1, padding) + body + b"\x00" * padding


def test_parse_side_reads_banner_and_lists() -> None:
    data = b"SSH-2.0-Test_1.0\r\n" + kexinit({"kex_algorithms": "curve25519-sha256,ext-info-c",
                                               "server_host_key_algorithms": "ssh-ed25519"})
    side = parse_side(data)
    assert side.banner == "SSH-2.0-Test_1.0"
    assert side.kexinit["kex_algorithms"] == ["curve25519-sha256", "ext-info-c"]
    assert side.kexinit["languages_server_to_client"] == []
    assert side.error is None


def test_parse_side_reports_truncation() -> None:
    data = b"SSH-2.0-Test_1.0\r\n" + kexinit({"kex_algorithms": "a" * 100})[:60]
    assert parse_side(data).error is not None
    assert parse_side(b"HTTP/1.1 200 OK\r\n").error == "no SSH identification line"


def test_stream_drops_duplicates_and_stops_at_a_hole() -> None:
    segments = [seg(100, b"abc"), seg(103, b"def"), seg(100, b"abc"), seg(110, b"xyz")]
    assert stream(segments) == b"abcdef"
    # across the 32-bit wrap
    assert stream([seg(0xFFFFFFFE, b"ab"), seg(0, b"cd")]) == b"abcd"


def test_link_flows_split_on_a_new_syn_for_the_same_ports() -> None:
    link = Link("l", "l.pcap", 0, "a", "b", [
        seg(10, flags="S", index=0), seg(11, b"x", index=1), seg(500, flags="S", index=2),
        seg(12, b"y", sport=40001, index=3)])
    flows = link_flows(link)
    assert [[s.index for s in f] for f in flows] == [[0, 1], [2], [3]]


def test_chain_path_orders_nodes_and_rejects_branches() -> None:
    points = [LinkPoint("cpe-eth1", "cpe", "cpe-eth1", "cgn", "cgn-eth0"),
              LinkPoint("cpe-eth0", "cpe", "cpe-eth0", "client", "client-eth0"),
              LinkPoint("cgn-eth1", "cgn", "cgn-eth1", "server", "server-eth0")]
    assert chain_path(points) in (["client", "cpe", "cgn", "server"], ["server", "cgn", "cpe", "client"])
    star = [LinkPoint(f"fw-eth{i}", "fw", f"fw-eth{i}", peer, f"{peer}-eth0")
            for i, peer in enumerate("abc")]
    assert chain_path(star) == []


def test_ladder_writes_png_and_svg_with_the_drop(tmp_path: Path) -> None:
    analysis = analyze_directory(PCAPS / "cpe-silent-drop")
    png, svg = draw_ladder(analysis, "c1", tmp_path / "ladder")
    assert png.read_bytes().startswith(b"\x89PNG")
    text = svg.read_text()
    assert "lost at cpe" in text and "cgn" in text


def test_unknown_connection_and_missing_directory_are_errors(tmp_path: Path) -> None:
    analysis = analyze_directory(PCAPS / "clean-close")
    with pytest.raises(AnalysisError, match="no connection 'c9'"):
        analysis.connection("c9")
    with pytest.raises(AnalysisError, match=r"no capture\.json and no \.pcap"):
        analyze_directory(tmp_path)


def test_bare_pcaps_without_manifest_are_analysed_per_link(tmp_path: Path) -> None:
    (tmp_path / "cpe-eth0.pcap").write_bytes((PCAPS / "clean-close" / "cpe-eth0.pcap").read_bytes())
    [conn] = analyze_directory(tmp_path).connections
    assert conn.drops() == []
    assert [e.kind for e in conn.events][:1] == ["handshake"]


def test_fast_header_parser_agrees_with_scapy_dissection() -> None:
    from scapy.layers.inet import IP, TCP
    from scapy.utils import rdpcap

    from natsim.analysis.segments import read_segments

    for pcap in sorted(PCAPS.glob("*/*.pcap")):
        ours = [s for s in read_segments(pcap) if s.protocol == "tcp"]
        theirs = [p for p in rdpcap(str(pcap)) if IP in p and TCP in p]
        assert len(ours) == len(theirs), pcap
        for seg, pkt in zip(ours, theirs, strict=True):
            tsval = dict((o[0], o[1]) for o in pkt[TCP].options).get("Timestamp", (None,))[0]
            assert (seg.src, seg.sport, seg.dst, seg.dport) == (pkt[IP].src, pkt[TCP].sport, pkt[IP].dst,
                                                                pkt[TCP].dport)
            assert (seg.seq, seg.ack, seg.ip_id, seg.tsval) == (pkt[TCP].seq, pkt[TCP].ack, pkt[IP].id, tsval)
            assert seg.flags == flag_text(int(pkt[TCP].flags))
            assert seg.payload == bytes(pkt[TCP].payload)[: seg.length]
            assert abs(seg.time - float(pkt.time)) < 1e-6


def test_fast_header_parser_reads_udp_and_icmp_errors_as_scapy_does() -> None:
    """Datagrams with their ports and payload; an ICMP error with the ports of the datagram it is about,
    turned round (it belongs to that datagram's flow, travelling back)."""
    from scapy.layers.inet import ICMP, IP, UDP, IPerror, UDPerror
    from scapy.utils import rdpcap

    from natsim.analysis.segments import read_segments

    pcaps = sorted(PCAPS.glob("*/*.pcap"))
    assert any(s.protocol == "icmp" for pcap in pcaps for s in read_segments(pcap))
    for pcap in pcaps:
        ours = [s for s in read_segments(pcap) if s.protocol != "tcp"]
        theirs = [p for p in rdpcap(str(pcap))   # (ICMP errors about TCP segments are not read)
                  if IP in p and (UDPerror in p if ICMP in p else UDP in p)]
        assert len(ours) == len(theirs), pcap
        for seg, pkt in zip(ours, theirs, strict=True):
            assert (seg.src, seg.dst, seg.ip_id) == (pkt[IP].src, pkt[IP].dst, pkt[IP].id)
            if ICMP in pkt:
                assert (seg.protocol, seg.flags) == ("icmp", "port unreachable") and IPerror in pkt
                assert (seg.sport, seg.dport) == (pkt[UDPerror].dport, pkt[UDPerror].sport)
            else:
                assert (seg.protocol, seg.sport, seg.dport) == ("udp", pkt[UDP].sport, pkt[UDP].dport)
                assert seg.payload == bytes(pkt[UDP].payload) and seg.length == len(seg.payload)


def _proxy_capture(segments: list[Segment]) -> CaptureDir:
    links = [Link(name, f"{name}.pcap", None, "fw", peer, [s for s in segments if s.link == name])
             for name, peer in (("fw-eth0", "client1"), ("fw-eth3", "sshd"))]
    return CaptureDir(Path("."), [], links, {"192.0.2.10": "client1", "203.0.113.130": "sshd",
                                             "192.0.2.1": "fw", "203.0.113.129": "fw"},
                      ends={"fw-eth0": ("fw", "client1"), "fw-eth3": ("fw", "sshd")},
                      kinds={"fw": "ssh-proxy"})


def _pseg(link: str, index: int, flags: str, seq: int, *, reply: bool = False, time: float = 0.0) -> Segment:
    client, server = ("192.0.2.10", 40000), ("203.0.113.130", 22)
    (src, sport), (dst, dport) = (server, client) if reply else (client, server)
    return Segment(link=link, index=index, time=time, src=src, sport=sport, dst=dst, dport=dport,
                   flags=flags, seq=seq, ack=0, length=0, ip_id=index, tsval=None, payload=b"")


def test_a_connection_ending_in_an_l7_proxy_is_routed_to_it() -> None:
    # The proxy answers the client itself (spoofing the server's address) and later sends a FIN
    # that never came from the server: the FIN is the proxy's, not the server's.
    capture = _proxy_capture([
        _pseg("fw-eth0", 0, "S", 100), _pseg("fw-eth0", 1, "SA", 900, reply=True),
        _pseg("fw-eth0", 2, "A", 101), _pseg("fw-eth0", 3, "FA", 901, reply=True, time=5.0)])
    [conn] = group_connections(capture)
    assert conn.path == ["client1", "fw"]
    assert (conn.initiator, conn.responder) == ("client1", "fw")
    fin = next(t for t in conn.transits if "F" in t.first.flags)
    assert fin.origin == "fw" and fin.lost_at is None


def test_a_routed_connection_through_a_star_topology_finds_its_branch() -> None:
    capture = _proxy_capture([
        _pseg("fw-eth0", 0, "S", 100, time=0.0), _pseg("fw-eth3", 0, "S", 100, time=0.001),
        _pseg("fw-eth3", 1, "R", 900, reply=True, time=0.002)])
    [conn] = group_connections(capture)
    assert conn.path == ["client1", "fw", "sshd"]
    rst = next(t for t in conn.transits if t.first.flags == "R")
    # the server's RST left the sshd link and never came out of the firewall
    assert (rst.origin, rst.lost_at) == ("sshd", "fw")


def test_a_cut_capture_makes_later_packets_unknown_not_lost(tmp_path: Path) -> None:
    import json

    from scapy.utils import rdpcap, wrpcap

    source = PCAPS / "cpe-silent-drop"
    for pcap in source.glob("*.pcap"):
        packets = rdpcap(str(pcap))
        # cpe-eth1 stops after the opening exchange, as if it had hit its packet limit there
        wrpcap(str(tmp_path / pcap.name), packets[:7] if pcap.name == "cpe-eth1.pcap" else packets)
    manifest = json.loads((source / "capture.json").read_text())
    for link in manifest["links"]:
        if link["link"] == "cpe-eth1":
            link.update(cut=True, packets=7, note="cut: reached the limit of 7 packets")
    (tmp_path / "capture.json").write_text(json.dumps(manifest))
    [conn] = analyze_directory(tmp_path).connections
    assert conn.drops() == []  # the late data and the FIN may well have crossed: nobody was looking
    [complete] = analyze_directory(source).connections
    assert len(complete.drops()) == 7


def test_a_plugin_kind_that_terminates_tcp_ends_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether a connection may end inside a node is its kind's declared fact (terminates_tcp)."""
    plugin_kinds.registered(monkeypatch)
    segments = [_pseg("fw-eth0", 0, "S", 100), _pseg("fw-eth0", 1, "SA", 900, reply=True),
                _pseg("fw-eth0", 2, "A", 101)]
    for kind, path in ((plugin_kinds.KIND.name, ["client1", "fw"]), ("cgn", ["client1", "fw", "sshd"])):
        capture = _proxy_capture(segments)
        capture.kinds = {"fw": kind}
        [conn] = group_connections(capture)
        assert conn.path == path, kind
