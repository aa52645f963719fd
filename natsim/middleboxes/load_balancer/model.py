"""The simpy model of a ``load-balancer``: its conntrack policy, destination NAT to its backends in turn,
and what an expired flow meets, as its ruleset and its reset daemon do.

- A bare SYN from the inside to the node's own address (the virtual IP, :meth:`Balancer.place`) and a
  listened port opens an entry translated to the next backend (round robin in ``backends`` order, as
  ``numgen inc``); to a port it does not listen on, the node's own stack answers RST.
- Packets of a known flow are translated both ways; a packet of no known flow meets the policy of
  ``expired`` (:meth:`LoadBalancer.policy`): RST under ``reset-next-packet``, silence otherwise.
- ``reset-both-at-expiry``: when an established flow's entry expires, the node sends RST to both ends
  at that moment (:class:`~natsim.sim.network.Timed`), as the lab's reset daemon does.

The model's server host stands for every backend: a probe's server is the load balancer's node (the
virtual IP), and which backend took a connection is in the trace (:class:`~natsim.sim.trace.Balanced`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from natsim.middleboxes.conntrack.model import Stateful, rst_for
from natsim.middleboxes.load_balancer.config import Expiry, LoadBalancer
from natsim.sim import trace as ev
from natsim.sim.cttable import ESTABLISHED, Entry
from natsim.sim.network import Action, Addressed, Answer, Emit, Forward, Segment, Timed
from natsim.units import TimeScale

#: How close to its deadline an entry counts as expired (float sums of times and timeouts).
EPSILON = 1e-9


class Balancer(Stateful, Addressed, Timed):
    """A load balancer: conntrack policy, DNAT from the virtual IP to the backends in turn, expiry."""

    def __init__(self, name: str, config: LoadBalancer, timing: TimeScale) -> None:
        super().__init__(name, config, timing)
        self.balancer = config
        self.vip = name
        self.turn = 0
        self.wake: Callable[[float], None] | None = None
        self.watched: list[tuple[Entry, str]] = []

    def place(self, address: str) -> None:
        """The node's own address: its virtual IP."""
        self.vip = address

    def attach(self, wake: Callable[[float], None]) -> None:
        """Keep the world's alarm (used by ``reset-both-at-expiry``)."""
        self.wake = wake

    def open(self, seg: Segment, outbound: bool, now: float) -> Action:
        """A SYN to the virtual IP goes to the next backend; any other SYN is routed as it is."""
        if not outbound or seg.dst[0] != self.vip:
            return super().open(seg, outbound, now)
        if not self.balancer.listens(seg.dst[1]):
            return Answer(rst_for(seg), (ev.Reset.at(now, self.name, seg, outbound,
                                                     reason=ev.Reason.NO_MAPPING),))
        backend = (self.balancer.backends[self.turn % len(self.balancer.backends)], seg.dst[1])
        self.turn += 1
        entry = self.table.create((seg.src, seg.dst), (backend, seg.src), "syn_sent", now,
                                  mapped_port=backend[1])
        self._watch(entry, seg.conn)
        return Forward(seg.with_dst(backend), (ev.Balanced.at(now, self.name, seg, outbound,
                                                              backend=backend),))

    def translate(self, seg: Segment, entry: Entry, is_reply: bool) -> Segment:
        """To the backend from the client; back from the virtual IP to the client."""
        if entry.mapped_port is None:
            return seg
        return seg.with_src(entry.original[1]) if is_reply else seg.with_dst(entry.reply[0])

    # ---- reset-both-at-expiry ----------------------------------------------------------------

    def _watch(self, entry: Entry, conn: str) -> None:
        if self.balancer.expired is not Expiry.RESET_BOTH_AT_EXPIRY or self.wake is None:
            return
        self.watched.append((entry, conn))
        self.wake(entry.last + entry.timeout)

    def act(self, now: float) -> Sequence[Emit]:
        """RST both ends of every established flow whose entry expires now (a segment arriving at this
        same instant may have found it expired first: its RSTs are sent all the same, as the lab's
        daemon sends them a moment after the kernel dropped that segment); look again later at the
        flows refreshed since."""
        emitted: list[Emit] = []
        keep: list[tuple[Entry, str]] = []
        for entry, conn in self.watched:
            held = self.table.holds(entry)
            if entry.last + entry.timeout > now + EPSILON:
                if held:
                    keep.append((entry, conn))
                continue
            if held:
                self.table.remove(entry)
            if entry.state == ESTABLISHED:
                emitted.extend(self.resets(entry, conn, now))
        self.watched = keep
        if keep and self.wake is not None:
            self.wake(min(e.last + e.timeout for e, _ in keep))
        return emitted

    def resets(self, entry: Entry, conn: str, now: float) -> tuple[Emit, Emit]:
        """The RST to the client (from the virtual IP) and the RST to the backend (from the client)."""
        client, vip, backend = entry.original[0], entry.original[1], entry.reply[0]
        to_client = Segment(vip, client, "R", conn)
        events = (ev.Expired.at(now, self.name, to_client, False, state=entry.state, idle=entry.idle(now),
                                timeout=entry.timeout),
                  ev.ResetAtExpiry.at(now, self.name, to_client, False, peer=backend))
        return Emit(to_client, False, events), Emit(Segment(client, backend, "R", conn), True)


def model(node: str, config: LoadBalancer, scale: TimeScale, seed: int) -> Balancer:
    """The load balancer at ``node`` (round robin draws nothing at random: ``seed`` is unused)."""
    return Balancer(node, config, scale)
