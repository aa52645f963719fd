"""How long ``natsim --help`` takes, against the bare interpreter's start measured in the same run.

Target (issue 12): under 150 ms. Prints numbers; asserts nothing.
Usage: .venv/bin/python benchmarks/cli_startup.py [RUNS]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

NATSIM = str(Path(sys.executable).parent / "natsim")


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    bare = statistics.median(timed([sys.executable, "-c", "pass"]) for _ in range(runs))
    helped = statistics.median(timed([NATSIM, "--help"]) for _ in range(runs))
    print(f"python -c pass:  median {bare * 1000:.0f} ms over {runs} runs")
    print(f"natsim --help:   median {helped * 1000:.0f} ms over {runs} runs "
          f"({helped / bare:.1f}x the bare interpreter; target < 150 ms: "
          f"{'met' if helped < 0.150 else 'MISSED'})")


if __name__ == "__main__":
    main()
