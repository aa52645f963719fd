"""Grouping segments into TCP connections across links, and tracing each packet hop by hop.

On every link, segments with the same address/port pair form a flow (a new SYN starts a new one).
Flows on different links belong to one connection when they share a packet fingerprint, which a
NAT leaves intact. Each packet is then followed along the path: where it first appears tells who
sent it (an endpoint, or a middlebox that generated it), where it stops tells where it was lost.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from natsim.analysis.capture_dir import CaptureDir, Link
from natsim.analysis.segments import Segment

#: A packet may appear on the next link this long before it appears on the previous one
#: (two tcpdumps, two clocks reading the same clock source: a few microseconds in practice).
CLOCK_SLACK = 0.005


@dataclass
class Transit:
    """One packet followed along the path: the segments it was seen as, in travel order."""

    hops: list[Segment]
    rightward: bool
    origin: str
    lost_at: str | None = None

    @property
    def first(self) -> Segment:
        """The packet as its sender emitted it."""
        return self.hops[0]

    @property
    def time(self) -> float:
        """When it was first seen."""
        return self.hops[0].time


@dataclass
class Connection:
    """One TCP connection across every link it crossed."""

    id: str
    segments: list[Segment]
    initiator: str = "?"
    responder: str = "?"
    initiator_left: bool = True
    endpoints: dict[str, tuple[str, str]] = field(default_factory=dict)
    transits: list[Transit] = field(default_factory=list)

    @property
    def start(self) -> float:
        """First segment time."""
        return min(s.time for s in self.segments)

    @property
    def end(self) -> float:
        """Last segment time."""
        return max(s.time for s in self.segments)

    def from_initiator(self, transit: Transit) -> bool:
        """True when ``transit`` travels from the initiator's side towards the responder's."""
        return transit.rightward == self.initiator_left


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def link_flows(link: Link) -> list[list[Segment]]:
    """Split a link's segments into flows: same address/port pair, a new SYN starts a new flow."""
    current: dict[frozenset[tuple[str, int]], list[Segment]] = {}
    syn_seq: dict[frozenset[tuple[str, int]], int] = {}
    flows: list[list[Segment]] = []
    for seg in link.segments:
        key = frozenset({(seg.src, seg.sport), (seg.dst, seg.dport)})
        if seg.flags == "S" and key in current and syn_seq.get(key) not in (None, seg.seq):
            del current[key]
        if key not in current:
            current[key] = []
            flows.append(current[key])
        if seg.flags == "S":
            syn_seq[key] = seg.seq
        current[key].append(seg)
    return flows


def group_connections(capture: CaptureDir) -> list[Connection]:
    """Every TCP connection of the capture, numbered ``c1``, ``c2``, … by start time."""
    flows: list[list[Segment]] = []
    for link in capture.links:
        flows.extend(link_flows(link))
    uf = _UnionFind()
    seen: dict[tuple[int, int, int, str, int, int | None], int] = {}
    for number, flow in enumerate(flows):
        uf.find(number)
        for seg in flow:
            if capture.path:
                other = seen.setdefault(seg.fingerprint, number)
                if other != number:
                    uf.union(number, other)
    groups: dict[int, list[Segment]] = defaultdict(list)
    for number, flow in enumerate(flows):
        groups[uf.find(number)].extend(flow)
    ordered = sorted(groups.values(), key=lambda segs: min(s.time for s in segs))
    connections = []
    for number, segs in enumerate(ordered, 1):
        segs.sort(key=lambda s: s.time)
        conn = Connection(f"c{number}", segs)
        _orient(conn, capture)
        conn.transits = trace(conn, capture)
        connections.append(conn)
    return connections


def _rightward(seg: Segment, capture: CaptureDir, link: Link) -> bool:
    """Whether ``seg`` travels from path[position] to path[position + 1]."""
    if link.position is None:
        return True
    src, dst = capture.owner_index(seg.src), capture.owner_index(seg.dst)
    if src is not None:
        return src <= link.position
    if dst is not None:
        return dst > link.position
    return True


def _orient(conn: Connection, capture: CaptureDir) -> None:
    """Find the initiator (the bare SYN's sender, else the first sender) and each link's endpoints."""
    first = next((s for s in conn.segments if s.flags == "S"), conn.segments[0])
    if not capture.path:
        conn.initiator, conn.responder = first.source, first.destination
        conn.endpoints = {first.link: (first.source, first.destination)}
        return
    link = capture.link(first.link)
    conn.initiator_left = _rightward(first, capture, link)
    for seg in conn.segments:
        lk = capture.link(seg.link)
        if seg.link in conn.endpoints:
            continue
        from_initiator = _rightward(seg, capture, lk) == conn.initiator_left
        pair = (seg.source, seg.destination) if from_initiator else (seg.destination, seg.source)
        conn.endpoints[seg.link] = pair
    positions = sorted(p for p in {capture.link(s.link).position for s in conn.segments} if p is not None)
    init_addr, resp_addr = (e.rsplit(":", 1)[0] for e in conn.endpoints[first.link])
    left, right = capture.path[positions[0]], capture.path[positions[-1] + 1]
    conn.initiator = capture.owners.get(init_addr) or (left if conn.initiator_left else right)
    conn.responder = capture.owners.get(resp_addr) or (right if conn.initiator_left else left)


def trace(conn: Connection, capture: CaptureDir) -> list[Transit]:
    """Follow every packet of ``conn`` from link to link; locate where lost ones stopped."""
    by_link: dict[str, list[Segment]] = defaultdict(list)
    for seg in conn.segments:
        by_link[seg.link].append(seg)
    ordered = [lk for lk in capture.links if lk.name in by_link]
    if not capture.path or any(lk.position is None for lk in ordered):
        # no path: one link per connection, sides told apart by address
        return [Transit([s], s.source == conn.initiator, s.source) for s in conn.segments]
    positions = [lk.position for lk in ordered]
    low, high = min(p for p in positions if p is not None), max(p for p in positions if p is not None)
    transits: list[Transit] = []
    for rightward in (True, False):
        chain_order = ordered if rightward else list(reversed(ordered))
        pools = {lk.name: [s for s in by_link[lk.name] if _rightward(s, capture, lk) == rightward]
                 for lk in chain_order}
        used: set[tuple[str, int]] = set()
        for start_at, link in enumerate(chain_order):
            for seg in pools[link.name]:
                if (seg.link, seg.index) in used:
                    continue
                hops, last = [seg], link
                used.add((seg.link, seg.index))
                for nxt in chain_order[start_at + 1:]:
                    if abs((nxt.position or 0) - (last.position or 0)) != 1:
                        break
                    match = next((s for s in pools[nxt.name] if (s.link, s.index) not in used
                                  and s.fingerprint == hops[-1].fingerprint
                                  and s.time >= hops[-1].time - CLOCK_SLACK), None)
                    if match is None:
                        break
                    hops.append(match)
                    used.add((match.link, match.index))
                    last = nxt
                pos_first, pos_last = link.position or 0, last.position or 0
                origin = capture.path[pos_first] if rightward else capture.path[pos_first + 1]
                expected = _expected_end(hops[-1], rightward, capture, low, high)
                lost_at = None
                if rightward and pos_last < expected:
                    lost_at = capture.path[pos_last + 1]
                elif not rightward and pos_last > expected:
                    lost_at = capture.path[pos_last]
                transits.append(Transit(hops, rightward, origin, lost_at))
    transits.sort(key=lambda t: t.time)
    return transits


def _expected_end(seg: Segment, rightward: bool, capture: CaptureDir, low: int, high: int) -> int:
    """The position of the last link this packet should cross: up to its destination's node, and
    through every link the connection uses (a NAT forwards what is addressed to itself)."""
    owner = capture.owner_index(seg.dst)
    if rightward:
        by_address = owner - 1 if owner is not None else len(capture.path) - 2
        return min(max(by_address, high), len(capture.path) - 2)
    by_address = owner if owner is not None else 0
    return max(min(by_address, low), 0)
