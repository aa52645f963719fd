"""The population model's flows sent packet by packet through the NAT model itself (slow; a check).

:func:`replay` builds the CGN's :class:`~natsim.middleboxes.nat.model.Nat` from its config, exactly as
``natsim predict`` does, and plays one shard's flows through it in time order: SYN, SYN-ACK and ACK
at the arrival; after each gap a data segment in its direction and the other side's ACK; FIN both
ways at the close. A packet the NAT drops or answers with RST, or re-maps to another port (the
server then answers RST), ends its flow. Subscriber ``k`` is the ``k``-th address of the CGN's
subscriber prefix; every flow has a server of its own. The vectorised model must find the same totals
and the same mapping table at every sample (``tests/unit/test_sim_population.py``).
"""

from __future__ import annotations

import heapq
import ipaddress
from collections.abc import Generator
from typing import Any

from natsim.middleboxes.nat.model import Nat
from natsim.middleboxes.nat44 import Nat44
from natsim.middleboxes.nat44.model import model as nat_model
from natsim.run.population_flows import Flows, Population, draw, shard_bounds, shard_seed
from natsim.sim import trace as ev
from natsim.sim.network import Answer, Drop, Forward, Segment
from natsim.units import TimeScale

Addr = tuple[str, int]


def _flow(nat: Nat, flows: Flows, k: int, client: Addr, server: Addr) -> Generator[float, None, str]:
    """Send flow ``k``'s packets through ``nat``; yields the time of its next packet, returns its
    outcome via ``StopIteration.value``."""
    conn = f"f{k}"
    t = float(flows.arrival[k])

    def out(flags: str, now: float) -> Forward | Drop | Answer:
        return nat.handle(Segment(client, server, flags, conn), True, now)

    action = out("S", t)
    if isinstance(action, Drop):
        return "exhausted"
    public = action.segment.src
    nat.handle(Segment(server, public, "SA", conn), False, t)
    out("A", t)
    outcome = "completed"
    lo, n = int(flows.gap_start[k]), int(flows.gap_count[k])
    for gap, inbound in zip(flows.gaps[lo:lo + n].tolist(), flows.inbound[lo:lo + n].tolist(), strict=True):
        t += gap
        yield t
        action = nat.handle(Segment(server, public, "PA", conn), False, t) if inbound else out("PA", t)
        if not isinstance(action, Forward):
            return "killed"
        if not inbound and action.segment.src != public:    # re-mapped elsewhere: the server resets it
            nat.handle(Segment(server, action.segment.src, "R", conn), False, t)
            return "killed"
        if any(isinstance(e, ev.PickedUp) for e in action.events):
            outcome = "remapped"
        if inbound:
            out("A", t)
        else:
            nat.handle(Segment(server, public, "A", conn), False, t)
    out("FA", t)
    nat.handle(Segment(server, public, "FA", conn), False, t)
    out("A", t)
    return outcome


def replay(cgn: Nat44, p: Population, shard: int = 0) -> dict[str, Any]:
    """Totals and the mapping table at each sample of ``shard``, packet by packet through the NAT."""
    first, count = shard_bounds(p, shard)
    flows = draw(p, first, count, shard_seed(p, shard))
    nat = nat_model("cgn", cgn, TimeScale(1.0), 0)
    inside = ipaddress.ip_network(cgn.inside, strict=False)
    totals = {"completed": 0, "killed": 0, "remapped": 0, "exhausted": 0}
    queue: list[tuple[float, int, Generator[float, None, str]]] = []
    ports: dict[int, int] = {}
    for k in range(len(flows.arrival)):
        sub = int(flows.subscriber[k])
        ports[sub] = ports.get(sub, 0) + 1
        client = (str(inside.network_address + 1 + sub), 1023 + ports[sub])
        server = (str(ipaddress.ip_address("203.0.113.0") + 1 + k % 250), 1024 + k // 250)
        heapq.heappush(queue, (float(flows.arrival[k]), k, _flow(nat, flows, k, client, server)))
    samples = [i * p.sample_every for i in range(int(p.duration / p.sample_every + 1e-9) + 1)]
    mappings = []
    for at in samples:
        while queue and queue[0][0] <= at:
            _, k, flow = heapq.heappop(queue)
            try:
                heapq.heappush(queue, (next(flow), k, flow))
            except StopIteration as done:
                totals[str(done.value)] += 1
        mappings.append(sum(1 for entry in nat.table if not entry.expired(at)))
    while queue:
        _, k, flow = heapq.heappop(queue)
        try:
            heapq.heappush(queue, (next(flow), k, flow))
        except StopIteration as done:
            totals[str(done.value)] += 1
    return {"totals": totals, "mappings": mappings}
