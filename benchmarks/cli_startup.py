"""How long ``natsim --help`` takes, against the bare interpreter's start measured in the same run.

The two are timed in turn (bare, natsim, bare, natsim, ...) so a machine whose speed drifts slows
both alike; the medians and their ratio are printed. Target (issue 23): ``natsim --help`` at most 4x
the bare interpreter's start. Prints numbers; asserts nothing.
Usage: .venv/bin/python benchmarks/cli_startup.py [RUNS]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from figures import Figure, record

NATSIM = str(Path(sys.executable).parent / "natsim")
TARGET_RATIO = 4.0


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    timed([NATSIM, "--help"])   # warm the page cache and the bytecode files
    bare, helped = [], []
    for _ in range(runs):
        bare.append(timed([sys.executable, "-c", "pass"]))
        helped.append(timed([NATSIM, "--help"]))
    ratio = statistics.median(h / b for h, b in zip(helped, bare, strict=True))
    print(f"python -c pass:  median {statistics.median(bare) * 1000:.0f} ms over {runs} runs")
    print(f"natsim --help:   median {statistics.median(helped) * 1000:.0f} ms over {runs} runs")
    print(f"ratio (median of pairs): {ratio:.1f}x; target <= {TARGET_RATIO:.0f}x: "
          f"{'met' if ratio <= TARGET_RATIO else 'MISSED'}")
    record(Figure("cli_startup", "natsim --help", statistics.median(helped) * 1000, "ms", TARGET_RATIO,
                  "ratio", reference=statistics.median(bare) * 1000, reference_name="python -c pass"))


if __name__ == "__main__":
    main()
