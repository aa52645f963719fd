"""``make test``: the unit tier and the lab tiers side by side, the unit tier at the lowest CPU priority.

The lab tiers (tests/netns, tests/e2e) mostly wait on scaled timers, so many run at once; their tools'
timing is what a starved CPU breaks. The unit tier needs CPU and no timing. Run alone, one after the
other, the suite's wall time is the sum; run in one pytest session, the unit tests (handed out last,
being short) ran on every worker while the last long lab tests still ran. Here the unit tier is its own
pytest session under ``nice -n 19``: the kernel gives it the CPU the labs leave, and a lab process that
wakes takes the CPU from it at once.

The lab tier's output streams; the unit tier's is printed whole once the lab tier is done. The exit status
is the first failing tier's (130 on Ctrl-C, after both have stopped).

The unit modules in :data:`REALTIME` measure real time themselves (probe tools against loopback servers
at time scales up to 3600, where 1 ms of delay is seconds of verdict), so they run in the lab session at
normal priority: under nice 19, on a machine the labs kept busy, four of them failed in one run (a
deadline 0.63 s late, UDP flows tested dead: their tool had waited for the CPU).

Usage: ``python -m tests.tiers [--lab-workers N] [--unit-workers N] [PYTEST ARGS...]``: test paths in the
arguments choose the tiers (a path under tests/unit goes to the unit tier, any other to the lab tier;
none: both tiers, whole); every other argument goes to both sessions.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNIT = "tests/unit"
LAB = ["tests/netns", "tests/e2e"]
#: Unit modules that time real sleeps and sockets: run in the lab session, never under nice 19.
REALTIME = ("tests/unit/test_probes_clients.py", "tests/unit/test_udp_probes.py",
            "tests/unit/test_probes_server.py", "tests/unit/test_udp_service.py",
            "tests/unit/test_ssh_bypass_timer.py", "tests/unit/test_progress.py",
            "tests/unit/test_light_install.py")
#: Arguments of both sessions: xdist hands tests out by unit, longest first (tests/schedule.py).
COMMON = ["-q", "--dist", "loadgroup", "-m", "not slow"]


def split(arguments: list[str]) -> tuple[list[str], list[str], list[str]]:
    """``arguments`` as (unit-tier paths, lab-tier paths, options for both): a path is an argument that
    names an existing file or directory (a test id ``path::name`` by its path)."""
    unit, lab, options = [], [], []
    for argument in arguments:
        path = argument.split("::")[0]
        if argument.startswith("-") or not (ROOT / path).exists():
            options.append(argument)
        elif (ROOT / path).resolve().is_relative_to(ROOT / UNIT):
            unit.append(argument)
        else:
            lab.append(argument)
    if not unit and not lab:
        unit, lab = [UNIT], list(LAB)
    return (*realtime_apart(unit, lab), options)


def realtime_apart(unit: list[str], lab: list[str]) -> tuple[list[str], list[str]]:
    """The unit tier's arguments and the lab tier's paths with the :data:`REALTIME` modules the unit
    paths name (themselves, or a directory holding them) moved to the lab tier (``--ignore`` in the
    unit tier); a unit tier left with nothing to run is empty."""
    moved, kept, ignores = [], [], []
    for argument in unit:
        path = (ROOT / argument.split("::")[0]).resolve()
        inside = [module for module in REALTIME if (ROOT / module).resolve().is_relative_to(path)]
        if path.is_file() and inside:
            moved.append(argument)
        else:
            kept.append(argument)
            ignores += [f"--ignore={module}" for module in inside]
            moved += inside
    return (kept + ignores if kept else []), lab + moved


def session(paths: list[str], workers: int, options: list[str], *, nice: bool) -> list[str]:
    """The pytest command line of one tier."""
    argv = [sys.executable, "-m", "pytest", *COMMON, "-n", str(workers), *options, *paths]
    return ["nice", "-n", "19", *argv] if nice else argv


def main(argv: list[str] | None = None) -> int:
    """Run the tiers ``argv`` asks for; the exit status of the first that failed, else 0."""
    parser = argparse.ArgumentParser(prog="python -m tests.tiers", description=__doc__.split("\n")[0])
    parser.add_argument("--lab-workers", type=int, default=12)
    parser.add_argument("--unit-workers", type=int, default=2)
    args, rest = parser.parse_known_args(argv)
    unit, lab, options = split(rest)
    started = time.monotonic()
    if not lab:
        return subprocess.call(session(unit, args.unit_workers, options, nice=False), cwd=ROOT)
    unit_out: list[str] = []
    unit_proc = (subprocess.Popen(session(unit, args.unit_workers, options, nice=True), cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 if unit else None)
    reader = threading.Thread(target=lambda: unit_out.extend(unit_proc.stdout or []) if unit_proc else None,
                              daemon=True)
    reader.start()
    lab_code = unit_code = 0
    try:
        lab_code = subprocess.call(session(lab, args.lab_workers, options, nice=False), cwd=ROOT)
    except KeyboardInterrupt:
        lab_code = 130
    finally:
        if unit_proc is not None:
            try:
                unit_code = unit_proc.wait()
            except KeyboardInterrupt:
                unit_code = 130
                unit_proc.wait()
            reader.join()
            print(f"\n*** unit tier ({' '.join(unit)}, nice 19, {args.unit_workers} workers): "
                  f"exit {unit_code}")
            sys.stdout.write("".join(unit_out))
    print(f"*** tiers: lab exit {lab_code}, unit exit {unit_code}, {time.monotonic() - started:.0f} s")
    return lab_code or unit_code


if __name__ == "__main__":
    sys.exit(main())
