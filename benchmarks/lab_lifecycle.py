"""Median up+down time of the isp-bridge-cgn lab vs a bare Mininet 5-node chain, in root mode and in
rootless mode (natsim's own user namespace), measured in one run.

Targets: up+down <= 0.5 s and within 1.5x the bare chain (issue 23; issue 2 asked 2x); rootless
within 10 % of root (issue 20). Prints numbers; asserts nothing. Also prints what entering natsim's
namespaces costs once per command (fork, namespaces, /proc, loopback, seccomp; up to the first line
of the inner process).

Usage: sudo .venv/bin/python benchmarks/lab_lifecycle.py [RUNS]   (as root: both modes; the
rootless one runs as ``nobody`` when it can run this venv, else as root with NATSIM_MODE=rootless)
       .venv/bin/python benchmarks/lab_lifecycle.py [RUNS]        (as an ordinary user: rootless only)
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import subprocess
import sys
import time

from figures import Figure, record
from mininet.topo import Topo

from natsim.lab import Lab, userns
from natsim.lab.lab import _LabNet
from natsim.lab.mininet_compat import Mininet, Node
from natsim.units import TimeScale

TARGET_RATIO = 1.5

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]


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


def samples(runs: int) -> dict[str, list[float]]:
    """Seconds of the bare chain and of the natsim lab, ``runs`` each, in this process's mode."""
    natsim_lab()   # warm-up: page cache, first Mininet import paths
    return {"bare": [bare_chain() for _ in range(runs)], "lab": [natsim_lab() for _ in range(runs)]}


def entering(runs: int) -> list[float]:
    """Seconds from :func:`userns.enter` to its inner process running (and back out)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        outer = userns.enter()
        if outer is None:
            os._exit(0)
        outer.wait()
        times.append(time.perf_counter() - start)
    return times


def rootless_child(runs: int) -> None:
    """Measure inside natsim's own namespaces; print the samples as JSON."""
    entry = entering(runs)
    outer = userns.enter()
    if outer is not None:
        sys.exit(outer.wait())
    print(json.dumps({**samples(runs), "enter": entry}))


def rootless(runs: int) -> dict[str, list[float]]:
    """Run :func:`rootless_child` in a fresh process (as ``nobody`` from root when possible)."""
    can = os.geteuid() == 0 and subprocess.run([*NOBODY, sys.executable, "-c", "import natsim"], cwd="/",
                                               capture_output=True, check=False).returncode == 0
    prefix = NOBODY if can else []
    done = subprocess.run([*prefix, sys.executable, __file__, "--rootless-child", str(runs)], cwd="/",
                          env={**os.environ, "NATSIM_MODE": "rootless"}, capture_output=True, text=True,
                          check=True)
    result: dict[str, list[float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def report(mode: str, numbers: dict[str, float], runs: int) -> None:
    """Print one mode's medians."""
    bare, lab = numbers["bare"], numbers["lab"]
    print(f"{mode:9} bare mininet 5-node chain up+down: median {bare * 1000:.0f} ms over {runs} runs")
    print(f"{mode:9} natsim isp-bridge-cgn up+down:     median {lab * 1000:.0f} ms over {runs} runs "
          f"(ratio {lab / bare:.2f}x, target <= {TARGET_RATIO:g}x; "
          f"target <= 500 ms: {'met' if lab <= 0.5 else 'MISSED'})")
    record(Figure("lab_lifecycle", f"{mode} isp-bridge-cgn up+down", lab * 1000, "ms", TARGET_RATIO, "ratio",
                  reference=bare * 1000, reference_name="bare 5-node chain"))
    record(Figure("lab_lifecycle", f"{mode} isp-bridge-cgn up+down", lab * 1000, "ms", 500.0))


def main() -> None:
    """Measure both modes in chunks taken in turn (so load from elsewhere hits both alike); report."""
    if sys.argv[1:2] == ["--rootless-child"]:
        rootless_child(int(sys.argv[2]))
        return
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    chunks = 4 if runs % 4 == 0 else 1
    root: dict[str, list[float]] = {"bare": [], "lab": []}
    free: dict[str, list[float]] = {"bare": [], "lab": [], "enter": []}
    for _ in range(chunks):
        if os.geteuid() == 0:
            for key, values in samples(runs // chunks).items():
                root[key] += values
        for key, values in rootless(runs // chunks).items():
            free[key] += values
    free_median = {key: statistics.median(values) for key, values in free.items()}
    if root["lab"]:
        root_median = {key: statistics.median(values) for key, values in root.items()}
        report("root", root_median, runs)
    report("rootless", free_median, runs)
    enter_ms = free_median["enter"] * 1000
    print(f"rootless: entering natsim's namespaces costs {enter_ms:.0f} ms once per command")
    if root["lab"]:
        ratio = free_median["lab"] / root_median["lab"]
        verdict = "met" if ratio <= 1.10 else "MISSED"
        print(f"rootless / root lab up+down: {ratio:.2f} (target <= 1.10: {verdict})")
        record(Figure("lab_lifecycle", "rootless isp-bridge-cgn up+down", free_median["lab"] * 1000, "ms",
                      1.10, "ratio", reference=root_median["lab"] * 1000, reference_name="root mode"))
    else:
        print("root mode not measured (run with sudo to compare both in one run)")


if __name__ == "__main__":
    main()
