"""``make bench``: run every benchmark, then print one table of each figure, its target, and its ratio
to the reference measured in the same run.

Each benchmark runs as its own process (as ``python benchmarks/NAME.py``, so its own usage line still
holds) with its output streamed as it comes, which is the progress of a long run; the figures it
records (benchmarks/figures.py) are collected in a scratch file and tabled at the end. The lab
benchmarks need root, or namespaces the kernel gives an ordinary user (``natsim doctor``); where a
benchmark cannot run, the table says so instead of a number.

Usage: .venv/bin/python benchmarks/run_all.py [--quick] [--only NAME ...] [--strict]
  --quick   small sizes (a few runs, few subscribers, one scale): a check that every benchmark still
            runs, not a measurement
  --strict  exit 1 when a target is missed (by default only a benchmark that fails exits non-zero)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from figures import ENV, Figure, load

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Bench:
    """One benchmark script, its arguments for a full and a quick run, and what it needs."""

    name: str
    full: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()


BENCHES = (
    Bench("cli_startup", quick=("3",)),
    Bench("sim_predict", quick=("isp-modem-bridge-1h", "3")),
    Bench("sim_population", quick=("1", "2000")),
    Bench("population_dask", quick=("5000", "1")),
    Bench("lab_lifecycle", quick=("4",)),
    Bench("time_scales", quick=("600",)),
    Bench("probe_ladder", quick=("--connections", "10")),
    Bench("ssh_proxy", quick=("--logins", "3", "--size-mb", "5", "--concurrent", "5")),
)


@dataclass(frozen=True)
class Ran:
    """What one benchmark did: its exit status, wall time and the figures it recorded."""

    bench: Bench
    returncode: int
    wall: float
    figures: tuple[Figure, ...]


def run(bench: Bench, quick: bool, scratch: Path) -> Ran:
    """Run one benchmark with its output streamed; collect its figures."""
    figures = scratch / f"{bench.name}.jsonl"
    argv = [sys.executable, str(HERE / f"{bench.name}.py"), *(bench.quick if quick else bench.full)]
    print(f"\n=== {bench.name}: {' '.join(argv[1:])}", flush=True)
    start = time.perf_counter()
    done = subprocess.run(argv, env={**os.environ, ENV: str(figures)}, check=False)
    return Ran(bench, done.returncode, time.perf_counter() - start, tuple(load(str(figures))))


def _cell(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    text = f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{text} {unit}".rstrip()


def table(results: list[Ran]) -> list[str]:
    """The table's lines: a row per figure, and a row for a benchmark that recorded none."""
    header = ("benchmark", "figure", "value", "reference (same run)", "ratio", "target", "")
    rows: list[tuple[str, ...]] = []
    for ran in results:
        if ran.returncode != 0 or not ran.figures:
            state = f"FAILED (exit {ran.returncode})" if ran.returncode else "no figure recorded"
            rows.append((ran.bench.name, state, "", "", "", "", "FAILED"))
        for fig in ran.figures:
            reference = f"{_cell(fig.reference, fig.unit)} {fig.reference_name}" if fig.reference else "-"
            ratio = _cell(fig.ratio, "x") if fig.ratio is not None else "-"
            rows.append((fig.benchmark, fig.name, _cell(fig.value, fig.unit), reference, ratio,
                         fig.describe_target(), "met" if fig.met else "MISSED"))
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in (header, *rows)]


def main() -> int:
    """Run the chosen benchmarks; print the table; exit 1 if one failed (or, with --strict, missed)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: does everything still run?")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=[b.name for b in BENCHES],
                        help="run only these benchmarks")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    chosen = [b for b in BENCHES if not args.only or b.name in args.only]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="natsim-bench-figures-") as scratch:
        results = [run(bench, args.quick, Path(scratch)) for bench in chosen]
    print(f"\n=== natsim benchmarks{' (--quick: sizes too small to measure)' if args.quick else ''}, "
          f"{time.perf_counter() - started:.0f} s, load average {os.getloadavg()[0]:.2f} at the end")
    print("\n".join(table(results)))
    failed = any(r.returncode != 0 or not r.figures for r in results)
    missed = any(not f.met for r in results for f in r.figures)
    return 1 if failed or (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
