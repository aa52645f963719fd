"""Reading a node's conntrack table (``conntrack -L -o xml``, captured from real labs in
tests/golden/conntrack/) and showing it as ``natsim watch`` does."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from natsim.errors import LabError
from natsim.lab.flows import Direction, Endpoint, Flow, parse
from natsim.report.flowview import as_json, mapping, rows, time_left

GOLDEN = Path(__file__).parents[1] / "golden" / "conntrack"


def golden(name: str) -> list[Flow]:
    return parse((GOLDEN / name).read_text())


def test_a_home_routers_table_tcp_udp_and_icmp_with_their_nat_mapping() -> None:
    """home-nat's router after a TCP connection, a UDP datagram and a ping from the client."""
    flows = {flow.protocol: flow for flow in golden("home-nat-router.xml")}
    assert sorted(flows) == ["icmp", "tcp", "udp"]
    tcp = flows["tcp"]
    assert (tcp.state, tcp.timeout, tcp.flags) == ("ESTABLISHED", 56, ("assured",))
    assert tcp.original == Direction(Endpoint("192.0.2.10", 48246), Endpoint("198.51.100.10", 5555))
    assert tcp.source_nat == Endpoint("198.51.100.1", 48246)      # masquerade, port preserved
    assert tcp.destination_nat is None
    assert mapping(tcp) == "192.0.2.10:48246 => 198.51.100.1:48246"
    udp = flows["udp"]
    assert (udp.state, udp.condition, udp.timeout) == ("", "UNREPLIED", 27)
    assert udp.source_nat == Endpoint("198.51.100.1", 53506)
    icmp = flows["icmp"]   # conntrack's XML has no ICMP id: the endpoints are addresses only
    assert icmp.original == Direction(Endpoint("192.0.2.10"), Endpoint("198.51.100.10"))
    assert (icmp.condition, mapping(icmp)) == ("-", "192.0.2.10 => 198.51.100.1")


def test_a_cgn_maps_to_its_pool_and_a_bridge_translates_nothing() -> None:
    (cgn,) = golden("isp-bridge-cgn-cgn.xml")
    assert mapping(cgn) == "100.64.1.10:44458 => 192.0.2.1:44458"
    bridged = golden("isp-bridge-cgn-cpe.xml")
    tcp = next(flow for flow in bridged if flow.protocol == "tcp")
    assert (tcp.source_nat, tcp.destination_nat, mapping(tcp)) == (None, None, "-")
    other = next(flow for flow in bridged if flow.protocol != "tcp")   # IGMP: conntrack says "unknown"
    assert (other.protocol, other.condition, other.timeout) == ("unknown", "UNREPLIED", 597)


def test_no_flows_and_output_that_is_not_conntracks() -> None:
    assert golden("empty.xml") == [] and parse("\n") == []
    with pytest.raises(LabError, match="conntrack printed something natsim cannot read"):
        parse("conntrack v1.4.7 (conntrack-tools): Operation not permitted")
    with pytest.raises(LabError, match="cannot read"):
        parse("<conntrack><flow><meta direction='original'/></flow></conntrack>")


def test_unknown_elements_and_missing_fields_are_tolerated() -> None:
    text = ("<conntrack><flow><meta direction='original'><layer3><src>192.0.2.1</src><dst>192.0.2.2</dst>"
            "</layer3><layer4 protoname='sctp'><sport>x</sport><new-thing/></layer4></meta>"
            "<meta direction='reply'><layer3><src>192.0.2.2</src><dst>192.0.2.1</dst></layer3></meta>"
            "<meta direction='independent'><zone>3</zone></meta></flow></conntrack>")
    (flow,) = parse(text)
    assert (flow.protocol, flow.timeout, flow.original.src, flow.source_nat) == (
        "sctp", 0, Endpoint("192.0.2.1"), None)


@pytest.mark.parametrize(("timeout", "scale", "shown"), [
    (74, 48, "59m12s"), (59, 60, "59m"), (60, 60, "1h"), (56, 1, "56s"), (0, 60, "0s"), (3, 0.5, "1.5s")])
def test_time_left_is_the_kernels_lab_seconds_times_the_time_scale(timeout: int, scale: float,
                                                                    shown: str) -> None:
    flow = Flow("tcp", "ESTABLISHED", timeout, Direction(Endpoint("192.0.2.10", 1), Endpoint("192.0.2.2", 2)),
                Direction(Endpoint("192.0.2.2", 2), Endpoint("192.0.2.10", 1)))
    assert time_left(flow, scale) == shown


def test_rows_keep_their_order_and_json_has_the_mapping() -> None:
    flows = golden("home-nat-router.xml")
    shown = rows(flows, 60)
    assert [row[0] for row in shown] == ["icmp", "tcp", "udp"]
    assert shown == rows(list(reversed(flows)), 60)
    tcp = shown[1]
    assert tcp == ("tcp", "ESTABLISHED", "56m", "56", "192.0.2.10:48246 -> 198.51.100.10:5555",
                   "192.0.2.10:48246 => 198.51.100.1:48246")
    document = {item["protocol"]: item for item in as_json(flows, 60)}
    assert document["tcp"]["source_nat"] == "198.51.100.1:48246"
    assert (document["tcp"]["seconds_left"], document["tcp"]["time_left"]) == (3360, "56m")


def test_a_narrow_terminal_folds_the_tuples_and_truncates_nothing() -> None:
    """At 80 columns every header and value is still there (folded, not cut with an ellipsis)."""
    from rich.console import Console

    from natsim.report.flowview import table

    console = Console(width=80, record=True, file=io.StringIO())
    console.print(table(golden("home-nat-router.xml"), 60, "title"))
    text = console.export_text()
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    joined = "".join(text.split())   # folded cells: their pieces joined again
    for header in ("proto", "state", "timeleft", "labs", "NATmapping"):
        assert header in joined
    assert "ESTABLISHED" in text and "UNREPLIED" in text
