"""Grouping segments into TCP connections and UDP flows across links, and tracing each packet hop by hop.

On every link, segments of one protocol with the same address/port pair form a flow (a new SYN starts a
new one; an ICMP error about a datagram belongs to the datagram's flow).
Flows on different links belong to one connection when they share a packet fingerprint, which a
NAT leaves intact. Each packet is then followed along the path: where it first appears tells who
sent it (an endpoint, or a middlebox that generated it), where it stops tells where it was lost.
"""

from __future__ import annotations

import itertools
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
    #: the nodes this connection runs through, and each captured link's index along them
    #: (link i joins path[i] and path[i + 1]); empty when the capture has no topology
    path: list[str] = field(default_factory=list)
    positions: dict[str, int] = field(default_factory=dict)

    @property
    def protocol(self) -> str:
        """``tcp``, or ``udp`` for a UDP flow (its datagrams and the ICMP errors about them)."""
        return "tcp" if self.segments[0].protocol == "tcp" else "udp"

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


FlowKey = tuple[bool, frozenset[tuple[str, int]]]


def link_flows(link: Link) -> list[list[Segment]]:
    """Split a link's segments into flows: same protocol (an ICMP error counts as its datagram's) and
    address/port pair; a new SYN starts a new TCP flow."""
    current: dict[FlowKey, list[Segment]] = {}
    syn_seq: dict[FlowKey, int] = {}
    flows: list[list[Segment]] = []
    for seg in link.segments:
        key = (seg.protocol == "tcp", frozenset({(seg.src, seg.sport), (seg.dst, seg.dport)}))
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
    """Every TCP connection and UDP flow of the capture, numbered ``c1``, ``c2``, … by start time."""
    flows: list[list[Segment]] = []
    for link in capture.links:
        flows.extend(link_flows(link))
    uf = _UnionFind()
    seen: dict[tuple[int, int, int, str, int, int | None], int] = {}
    for number, flow in enumerate(flows):
        uf.find(number)
        for seg in flow:
            if capture.ends:
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


def _index(conn: Connection, capture: CaptureDir, address: str) -> int | None:
    owner = capture.owners.get(address)
    return conn.path.index(owner) if owner in conn.path else None


def _rightward(seg: Segment, conn: Connection, capture: CaptureDir) -> bool:
    """Whether ``seg`` travels from path[i] to path[i + 1] (i: its link's position)."""
    position = conn.positions.get(seg.link)
    if position is None:
        return seg.source == conn.endpoints.get(seg.link, (seg.source,))[0]
    src, dst = _index(conn, capture, seg.src), _index(conn, capture, seg.dst)
    if src is not None:
        return src <= position
    if dst is not None:
        return dst > position
    return True


def route(conn: Connection, capture: CaptureDir, first: Segment) -> None:
    """Find the nodes ``conn`` runs through: from the owner of its first packet's source to the owner
    of its destination, cut short at an L7 proxy it does not cross."""
    used = {s.link for s in conn.segments}
    start, goal = capture.owners.get(first.src), capture.owners.get(first.dst)
    path = capture.node_path(start, goal) if start and goal and start != goal else []
    if not path and capture.path:
        path = list(capture.path)
    if not path:
        path = list(capture.ends.get(first.link, ()))
    links = [capture.link_between(a, b) for a, b in itertools.pairwise(path)]
    for i, node in enumerate(path[1:-1], 1):
        if node in capture.terminating:
            before, after = set(links[:i]) & used, set(links[i:]) & used
            if before and not after:
                path, links = path[: i + 1], links[:i]
                break
            if after and not before:
                path, links = path[i:], links[i:]
                break
    conn.path = path
    conn.positions = {name: i for i, name in enumerate(links) if name is not None}


def _orient(conn: Connection, capture: CaptureDir) -> None:
    """Route the connection, find its initiator (the bare SYN's sender, else the first sender of a
    segment or datagram) and each link's endpoint addresses."""
    first = next((s for s in conn.segments if s.protocol == "tcp" and s.flags == "S"),
                 next((s for s in conn.segments if s.protocol != "icmp"), conn.segments[0]))
    if not capture.ends:
        conn.initiator, conn.responder = first.source, first.destination
        conn.endpoints = {first.link: (first.source, first.destination)}
        return
    route(conn, capture, first)
    conn.endpoints[first.link] = (first.source, first.destination)
    conn.initiator_left = _rightward(first, conn, capture) if first.link in conn.positions else True
    for seg in conn.segments:
        if seg.link not in conn.endpoints:
            from_initiator = _rightward(seg, conn, capture) == conn.initiator_left
            conn.endpoints[seg.link] = (seg.source, seg.destination) if from_initiator \
                else (seg.destination, seg.source)
    conn.initiator, conn.responder = (conn.path[0], conn.path[-1]) if conn.initiator_left \
        else (conn.path[-1], conn.path[0])


Fingerprint = tuple[int, int, int, str, int, int | None]


def trace(conn: Connection, capture: CaptureDir) -> list[Transit]:
    """Follow every packet of ``conn`` from link to link; locate where lost ones stopped."""
    by_link: dict[str, list[Segment]] = defaultdict(list)
    for seg in conn.segments:
        by_link[seg.link].append(seg)
    ordered = sorted((lk for lk in capture.links if lk.name in conn.positions),
                     key=lambda lk: conn.positions[lk.name])
    if not ordered:
        # no topology: one link per connection, sides told apart by address
        return [Transit([s], s.source == conn.initiator, s.source) for s in conn.segments]
    positions = [conn.positions[lk.name] for lk in ordered]
    low, high = min(positions), max(positions)
    transits: list[Transit] = []
    for rightward in (True, False):
        chain = ordered if rightward else list(reversed(ordered))
        index: dict[str, dict[Fingerprint, list[Segment]]] = {}
        for lk in chain:
            index[lk.name] = defaultdict(list)
            for seg in by_link[lk.name]:
                if _rightward(seg, conn, capture) == rightward:
                    index[lk.name][seg.fingerprint].append(seg)
        used: set[tuple[str, int]] = set()
        for start_at, link in enumerate(chain):
            for seg in by_link[link.name]:
                if (seg.link, seg.index) in used or _rightward(seg, conn, capture) != rightward:
                    continue
                hops, last = _follow(seg, chain[start_at:], conn.positions, index, used)
                transits.append(_transit(hops, conn.positions[link.name], conn.positions[last.name],
                                         rightward, conn, capture, low, high))
    transits.sort(key=lambda t: t.time)
    return transits


def _follow(seg: Segment, chain: list[Link], positions: dict[str, int],
            index: dict[str, dict[Fingerprint, list[Segment]]],
            used: set[tuple[str, int]]) -> tuple[list[Segment], Link]:
    """The hops of the packet first seen as ``seg`` on ``chain[0]``, as far as it went."""
    hops, last = [seg], chain[0]
    used.add((seg.link, seg.index))
    for nxt in chain[1:]:
        if abs(positions[nxt.name] - positions[last.name]) != 1:
            break
        candidates = index[nxt.name].get(hops[-1].fingerprint, [])
        match = next((s for s in candidates if (s.link, s.index) not in used
                      and s.time >= hops[-1].time - CLOCK_SLACK), None)
        if match is None:
            break
        hops.append(match)
        used.add((match.link, match.index))
        last = nxt
    return hops, last


def _transit(hops: list[Segment], pos_first: int, pos_last: int, rightward: bool, conn: Connection,
             capture: CaptureDir, low: int, high: int) -> Transit:
    """Who sent the packet (the node before its first link) and where it was lost, if it was."""
    path = conn.path
    origin = path[pos_first] if rightward else path[pos_first + 1]
    expected = _expected_end(hops[-1], rightward, conn, capture, low, high)
    lost_at = None
    if rightward and pos_last < expected:
        lost_at = path[pos_last + 1]
    elif not rightward and pos_last > expected:
        lost_at = path[pos_last]
    if lost_at is not None:
        next_position = pos_last + 1 if rightward else pos_last - 1
        name = next((n for n, p in conn.positions.items() if p == next_position), None)
        until = capture.link(name).captured_until if name else None
        if until is not None and hops[-1].time >= until - CLOCK_SLACK:
            lost_at = None  # the next link's capture had already stopped: unknown, not lost
    return Transit(hops, rightward, origin, lost_at)


def _expected_end(seg: Segment, rightward: bool, conn: Connection, capture: CaptureDir, low: int,
                  high: int) -> int:
    """The position of the last link this packet should cross: up to its destination's node, and
    through every link the connection uses (a NAT forwards what is addressed to itself)."""
    last_link = len(conn.path) - 2
    owner = _index(conn, capture, seg.dst)
    if rightward:
        by_address = owner - 1 if owner is not None else last_link
        return min(max(by_address, high), last_link)
    by_address = owner if owner is not None else 0
    return max(min(by_address, low), 0)
