"""Median up+down time of the isp-bridge-cgn lab vs a bare Mininet 5-node chain (needs root).

Target (issue 2): up+down <= 0.5 s and within 2x the bare chain. Prints numbers; asserts nothing.
Usage: sudo .venv/bin/python benchmarks/lab_lifecycle.py [RUNS]
"""

from __future__ import annotations

import itertools
import statistics
import sys
import time

from mininet.topo import Topo

from natsim.lab import Lab
from natsim.lab.lab import _LabNet
from natsim.lab.mininet_compat import Mininet, Node
from natsim.units import TimeScale


class Chain(Topo):
    """Five plain nodes in a chain, links only."""

    def build(self) -> None:  # type: ignore[override]
        names = [self.addHost(f"n{i}", ip=None) for i in range(5)]
        for a, b in itertools.pairwise(names):
            self.addLink(a, b)


def bare_chain() -> float:
    """Up+down of a bare Mininet chain (same Mininet, no middleboxes)."""
    start = time.perf_counter()
    net: Mininet = _LabNet(Chain(), Node)
    net.build()
    for node in net.hosts:
        node.terminate()
    return time.perf_counter() - start


def natsim_lab() -> float:
    """Up+down of isp-bridge-cgn with both middleboxes applied."""
    start = time.perf_counter()
    with Lab("isp-bridge-cgn", time_scale=TimeScale(60)):
        pass
    return time.perf_counter() - start


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    bare = statistics.median(bare_chain() for _ in range(runs))
    lab = statistics.median(natsim_lab() for _ in range(runs))
    print(f"bare mininet 5-node chain up+down: median {bare * 1000:.0f} ms over {runs} runs")
    print(f"natsim isp-bridge-cgn up+down:     median {lab * 1000:.0f} ms over {runs} runs")
    print(f"ratio {lab / bare:.2f}x (target <= 2x), target <= 500 ms: {'met' if lab <= 0.5 else 'MISSED'}")


if __name__ == "__main__":
    main()
