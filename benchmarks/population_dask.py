"""The CGN population model sharded over a Dask cluster: 1 worker, then 2, in the same run.

Target (issue 23): 1,000,000 subscribers x 24 h in at most 60 s on this 2-core machine, and the scaling
from 1 to 2 workers reported. Each size runs on a fresh local cluster (workers on loopback only, one
single-threaded process each); the wall time is the model's (the cluster's start is printed apart),
the CPU time is what the worker processes used, in all and on the busiest worker (the wall time a
machine with a free core per worker would take, which a shared machine's load does not change).
Both runs must give the same result (checked).
Prints numbers; asserts nothing but that agreement.
Usage: .venv/bin/python benchmarks/population_dask.py [SUBSCRIBERS] [WORKERS...]   (default 1000000 1 2)
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass

from figures import Figure, record

from natsim.middleboxes.conntrack.policy import Untracked
from natsim.middleboxes.nat44 import Nat44
from natsim.middleboxes.presets import device
from natsim.run.cluster import local_cluster
from natsim.run.population import Population, PopulationResult, simulate

TARGET = 60.0


@dataclass
class Measured:
    """One run: its workers, cluster start-up, model wall time, workers' CPU (all, busiest) and the
    result."""

    workers: int
    startup: float
    wall: float
    cpu: float
    busiest: float
    result: PopulationResult


def _worker_cpu(cluster: object) -> list[float]:
    """CPU seconds (user + system) each of the cluster's worker processes has used so far."""
    import psutil
    from dask.distributed import Client

    with Client(cluster) as client:
        pids = sorted(client.run(os.getpid).values())
    return [sum(psutil.Process(pid).cpu_times()[:2]) for pid in pids]


def measure(cgn: Nat44, population: Population, workers: int) -> Measured:
    """Run the model once on a fresh local cluster of ``workers`` processes."""
    started = time.perf_counter()
    with local_cluster(workers) as cluster:
        startup = time.perf_counter() - started
        before = _worker_cpu(cluster)
        result = simulate(cgn, population, scheduler=cluster.scheduler_address)
        used = [after - start for after, start in zip(_worker_cpu(cluster), before, strict=True)]
    return Measured(workers, startup, result.wall, sum(used), max(used), result)


def main() -> None:
    """The incident-like CGN (1 h idle timeout, pickup outbound, 32 ports per subscriber)."""
    subscribers = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    sizes = [int(a) for a in sys.argv[2:]] or [1, 2]
    cgn = device("cgn", idle_timeout=3600.0, untracked_outbound=Untracked.PICKUP, pool="198.51.100.0/24",
              subscribers="100.64.0.0/10", ports_per_subscriber=32)
    population = Population(subscribers=subscribers)
    print(f"{subscribers:,} subscribers x {population.duration / 3600:g} h on {os.cpu_count()} cores; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    runs = []
    for workers in sizes:
        run = measure(cgn, population, workers)
        runs.append(run)
        print(f"{workers} worker(s): wall {run.wall:6.2f} s (cluster start {run.startup:.2f} s), "
              f"workers' CPU {run.cpu:6.2f} s (busiest worker {run.busiest:6.2f} s), "
              f"{run.result.events_per_second:,.0f} events/s")
    first = runs[0]
    print(first.result.summary())
    for run in runs[1:]:
        same = (run.result.totals, run.result.mappings, run.result.peak_ports) == (
            first.result.totals, first.result.mappings, first.result.peak_ports)
        print(f"{first.workers} -> {run.workers} workers: speed-up {first.wall / run.wall:.2f}x in wall "
              f"time, {first.busiest / run.busiest:.2f}x on the busiest worker's CPU (ideal "
              f"{run.workers / first.workers:.0f}x); same result: {same}")
        if not same:
            raise SystemExit("results differ between worker counts")
    best = min(runs, key=lambda r: r.wall)
    print(f"best: {best.wall:.2f} s on {best.workers} worker(s); target <= {TARGET:.0f} s: "
          f"{'met' if best.wall <= TARGET else 'MISSED'} ({best.wall / TARGET:.2f} of the target); "
          f"busiest worker's CPU on {runs[-1].workers}: {runs[-1].busiest:.2f} s "
          f"({runs[-1].busiest / TARGET:.2f} of the target); load average after: {os.getloadavg()[0]:.2f}")
    record(Figure("population_dask", f"{subscribers:,} subscribers x 24 h on Dask, best of {sizes}",
                  best.wall, "s", TARGET))


if __name__ == "__main__":
    main()
