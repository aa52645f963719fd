"""NAT44 models (``cgn``, ``home-router``): conntrack policy plus source address and port mapping.

Mappings are endpoint-independent: one public port per mapping on the NAT's public address. With
port preservation a mapping keeps the inside port when it is free (Linux SNAT does), else takes the
lowest free port of the range; without preservation (``random`` in the render) the port is drawn at
random, seeded. A port whose mapping expired is reusable after ``hold_down`` seconds
(RFC 6888 REQ-8 recommends 120 s; Linux has none, so the lab default is 0). An unknown inbound
packet under ``pickup`` has no mapping to follow: it is addressed to the NAT itself, and the NAT's
own stack answers it with RST (the lab renders no input rule for ``pickup``).
"""

from __future__ import annotations

import random
from typing import Any

from natsim.middleboxes.conntrack.model import Stateful
from natsim.sim.cttable import ESTABLISHED, Entry, Tuple
from natsim.sim.network import Action, Addr, Answer, Drop, Forward, Segment
from natsim.units import TimeScale


class Nat(Stateful):
    """A NAT44 with conntrack policy, port mapping, per-subscriber port limit and hold-down."""

    translates = True

    def __init__(self, name: str, config: Any, timing: TimeScale, *, public: str,
                 port_range: tuple[int, int] = (1024, 65535), port_preservation: bool = True,
                 ports_per_subscriber: int | None = None, hold_down: float = 0.0, seed: int = 0) -> None:
        super().__init__(name, config, timing)
        self.rng = random.Random(f"{seed}:{name}")
        self.public = public
        self.port_range = port_range
        self.port_preservation = port_preservation
        self.ports_per_subscriber = ports_per_subscriber
        self.hold_down = hold_down
        self.ports: dict[int, Entry] = {}
        self.held: dict[int, float] = {}

    # ---- port management -----------------------------------------------------------------

    def _free(self, port: int, now: float) -> bool:
        entry = self.ports.get(port)
        if entry is not None and entry.expired(now):
            self.table.remove(entry)
            self.held[port] = entry.last + entry.timeout + self.hold_down
            del self.ports[port]
            entry = None
        return entry is None and self.held.get(port, float("-inf")) <= now

    def mappings_of(self, subscriber: str, now: float) -> int:
        """Live mappings of ``subscriber``."""
        return sum(1 for p, e in list(self.ports.items())
                   if e.original[0][0] == subscriber and self._free(p, now) is False)

    def allocate(self, src: Addr, now: float) -> int | None:
        """A public port for a new mapping of ``src``, or None when the subscriber is exhausted."""
        limit = self.ports_per_subscriber
        if limit is not None and self.mappings_of(src[0], now) >= limit:
            return None
        lo, hi = self.port_range
        if self.port_preservation and lo <= src[1] <= hi and self._free(src[1], now):
            return src[1]
        if not self.port_preservation:
            for _ in range(32):
                port = self.rng.randint(lo, hi)
                if self._free(port, now):
                    return port
        for port in range(lo, hi + 1):
            if self._free(port, now):
                return port
        return None

    def _map(self, seg: Segment, now: float, state: str, picked_up: bool) -> Entry | None:
        port = self.allocate(seg.src, now)
        if port is None:
            return None
        original: Tuple = (seg.src, seg.dst)
        entry = self.table.create(original, (seg.dst, (self.public, port)), state, now,
                                  picked_up=picked_up, mapped_port=port)
        self.table.refresh(entry, now)
        self.ports[port] = entry
        return entry

    def _exhausted(self, seg: Segment) -> Drop:
        return Drop(f"{self.name}: port exhaustion: {seg.src[0]} has all "
                    f"{self.ports_per_subscriber} ports mapped; {seg.what()} dropped")

    # ---- conntrack hooks -----------------------------------------------------------------

    def open(self, seg: Segment, outbound: bool, now: float) -> Action:
        """An outbound SYN gets a mapping; an inbound one has none to follow."""
        if not outbound:
            return self.untracked_inbound(seg, "no mapping")
        entry = self._map(seg, now, "syn_sent", picked_up=False)
        if entry is None:
            return self._exhausted(seg)
        return Forward(seg.with_src(entry.reply[1]))

    def pickup(self, seg: Segment, outbound: bool, now: float, why: str) -> Action:
        """Outbound: re-map mid-stream. Inbound: the NAT's own stack answers RST."""
        if not outbound:
            return self.untracked_inbound(seg, why)
        entry = self._map(seg, now, ESTABLISHED, picked_up=True)
        if entry is None:
            return self._exhausted(seg)
        port = entry.reply[1][1]
        how = "the same port" if port == seg.src[1] else f"port {port}"
        return Forward(seg.with_src(entry.reply[1]),
                       f"{why}; outbound {seg.what()} picked up by {self.name}, re-mapped to {how}")

    def untracked_inbound(self, seg: Segment, why: str) -> Action:
        """Unknown inbound packet to the public address under ``pickup``: local RST."""
        if "R" in seg.flags:
            return Drop(f"{why}; inbound RST of no known connection ignored by {self.name}")
        policy = self.policy.untracked_inbound.value
        if policy == "drop":
            return Drop(f"{why}; inbound {seg.what()} dropped as untracked")
        rst = Segment(seg.dst, seg.src, "R", seg.conn)
        if policy == "reset":
            return Answer(rst, f"{why}; inbound {seg.what()} answered with RST by {self.name}")
        return Answer(rst, f"{why}; inbound {seg.what()} has no mapping and reaches {self.name}'s own "
                           "stack, which answers RST")

    def translate(self, seg: Segment, entry: Entry, is_reply: bool) -> Segment:
        """SNAT outbound, reverse NAT inbound."""
        if is_reply:
            return seg.with_dst(entry.original[0])
        return seg.with_src(entry.reply[1])
