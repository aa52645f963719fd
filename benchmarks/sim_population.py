"""CGN population model: 100,000 subscribers, 24 h of flows (target: < 60 s on 2 cores; 1,000,000 on a
Dask cluster: benchmarks/population_dask.py).

Prints totals, peak mapping table and its conntrack memory, ports per subscriber, the share of flows
the idle timeout killed, the mapping-table size over the day (hourly) and events/s.
Usage: .venv/bin/python benchmarks/sim_population.py [WORKERS] [SUBSCRIBERS]   (no root needed)
"""

from __future__ import annotations

import sys

from figures import Figure, record

from natsim.middleboxes.conntrack.policy import Untracked
from natsim.middleboxes.presets import device
from natsim.run.population import Population, simulate


def main() -> None:
    """Run the incident-like CGN (1 h idle timeout, pickup outbound, 32 ports per subscriber)."""
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    subscribers = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    cgn = device("cgn", idle_timeout=3600.0, untracked_outbound=Untracked.PICKUP, pool="198.51.100.0/24",
              ports_per_subscriber=32)
    population = Population(subscribers=subscribers)
    result = simulate(cgn, population, workers=workers)
    print(result.summary())
    print("mapping table by hour:", " ".join(f"{m}" for t, m in zip(result.times, result.mappings,
                                                                   strict=True) if t % 3600 == 0))
    print(f"wall {result.wall:.2f} s on {workers} worker(s) (target < 60 s on 2 cores); "
          f"{result.events_per_second:,.0f} events/s")
    record(Figure("sim_population", f"{subscribers:,} subscribers x 24 h, {workers} worker(s)", result.wall,
                  "s", 60.0))


if __name__ == "__main__":
    main()
