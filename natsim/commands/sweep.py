"""``natsim sweep SCENARIO --param NAME.SETTING=VALUES ...``: many predictions (or lab runs), one table.

``NAME`` is a middlebox node (``cpe.idle_timeout=30m..3h:15m``) or a probe (``send.step=30s,1m``, an
ssh-idle variant's option ``sessions.serveralive-300.ServerAliveInterval=1m..15m:1m``); see
:mod:`natsim.run.sweep_params`. Runs on a local process pool by default; ``--scheduler ADDRESS`` uses a
Dask cluster (``local`` for one on this machine; needs ``pip install 'natsim[dask]'``). With ``--lab``
every point is a lab run (:mod:`natsim.run.lab_sweep`) whose report is written in ``runs/``. Prints
the table and writes ``sweep.csv`` and ``sweep.png`` (default directory ``natsim-out/sweep-NAME-TIME``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from natsim.commands.common import add_trust
from natsim.commands.predict import load, parse_seed
from natsim.errors import EXIT_PROBE_FAILED, ConfigError
from natsim.outfiles import OutputDir
from natsim.paths import inside


def register(sub: Any) -> None:
    """Add ``natsim sweep``."""
    parser = sub.add_parser(
        "sweep", help="predict a scenario over a grid of middlebox settings and probe options",
        description="Vary middlebox settings and probe options and predict each combination with the "
        "model, in parallel (with --lab: run each in the lab, here or on a Dask cluster). Prints one "
        "line per point and probe (verdicts, the first failing idle "
        "time, the estimate) and writes DIR/sweep.csv and DIR/sweep.png (one parameter: the first "
        "failing idle time against it; two: a heat map of it).",
        epilog="examples: natsim sweep isp-modem-bridge-1h --param cpe.idle_timeout=30m..3h:15m; "
        "natsim sweep ssh-idle-serveralive --param sessions.serveralive-300.ServerAliveInterval=5m..1h:5m")
    parser.add_argument("scenario", help="scenario file or shipped scenario name")
    parser.add_argument("--param", action="append", default=[], metavar="NAME.SETTING=VALUES",
                        help="NAME is a middlebox node (cpe.idle_timeout=30m..3h:15m, "
                        "cpe.untracked_inbound=drop,pickup), a host (client.tcp_keepalive_time=5m..30m:5m) "
                        "or a probe (send.step=30s,1m; an ssh-idle "
                        "variant's ssh option: sessions.VARIANT.ServerAliveInterval=1m,5m); VALUES is "
                        "LOW..HIGH:STEP or A,B,C (repeatable)")
    parser.add_argument("--max-points", default="1000", help="refuse larger grids (default 1000)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="Dask scheduler address (tcp://HOST:8786) or 'local' for a cluster on this "
                        "machine (loopback only)")
    parser.add_argument("--workers", default="0",
                        help="local worker processes (default: CPU count; with --scheduler local: the "
                        "cluster's, default 2); with --lab and no --scheduler: labs run at a time here "
                        "(default 1)")
    parser.add_argument("--seed", default="0", help="seed for every prediction (default 0)")
    parser.add_argument("--lab", action="store_true",
                        help="run every point in the lab (as natsim run does; on the Dask workers with "
                        "--scheduler) and write each run's report in DIR/runs/")
    parser.add_argument("--lab-timers", action="store_true",
                        help="predict what the lab would observe (kernel timers unscaled); default: "
                        "a real network")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="output directory (default: natsim-out/sweep-NAME-TIME)")
    add_trust(parser)
    parser.set_defaults(func=run)


def _count(text: str, what: str, minimum: int) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise ConfigError(f"{what}: expected a whole number, got {text!r}") from None
    if value < minimum:
        raise ConfigError(f"{what}: must be at least {minimum}, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    """Parse, check everything, then run the grid, print the table and write the outputs."""
    from natsim.report.plot import png_bytes
    from natsim.report.sweep_report import format_table, sweep_figure
    from natsim.run import sweep
    seed = parse_seed(args.seed)
    max_points = _count(args.max_points, "--max-points", 1)
    workers = _count(args.workers, "--workers", 0)
    if args.lab and args.lab_timers:
        raise ConfigError("--lab runs the lab itself; --lab-timers is for predictions: give one")
    if args.lab:   # the lab runs the probes' own code (commands, ssh options): trust as for natsim run
        from natsim.scenario import load_scenario
        scenario: Any = load_scenario(args.scenario, trust=args.trust)
    else:
        scenario = load(args.scenario, trust=args.trust)
    params = [sweep.parse_param(p, scenario) for p in args.param]
    points = sweep.grid(params, max_points)
    for point in points:
        sweep.apply(scenario, params, point)   # values their owner refuses fail before any work
    out = args.out or inside(Path("natsim-out"), f"sweep-{scenario.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    # never through a link, one natsim per directory; under sudo what natsim creates is the user's
    with OutputDir.open(out, for_user=True) as directory:
        directory.lock()
        directory.refuse_links(["sweep.csv", "sweep.png", "runs"])
        started = time.perf_counter()
        rows, failed = _execute(args, scenario, params, points, directory, seed, workers)
        took = time.perf_counter() - started
        print(format_table(rows, params), end="")
        csv_path = directory.write_text("sweep.csv", sweep.csv_text(rows))
        png_path = directory.write_bytes("sweep.png", png_bytes(sweep_figure(rows, params, scenario.name)))
    print(f"{len(points)} points x {len(scenario.probes)} probes in {took:.2f} s "
          f"({len(points) / took:.1f} points/s); wrote {csv_path} and {png_path}"
          + (f" and a report per point in {out}/runs/" if args.lab else ""))
    for name, why in failed.items():
        print(f"natsim: point {name} could not run: {why}", file=sys.stderr)
    return EXIT_PROBE_FAILED if failed else 0


def _execute(args: argparse.Namespace, scenario: Any, params: list[Any], points: list[Any],
             directory: OutputDir, seed: int, workers: int) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The rows of every point, and the points that could not run (lab runs only)."""
    from natsim.run import sweep
    if args.lab:
        from natsim.run import lab_sweep

        def say(line: str) -> None:
            print(f"natsim: {line}", file=sys.stderr, flush=True)
        if args.scheduler:
            done = lab_sweep.run_on_cluster(scenario, params, points, directory, address=args.scheduler,
                                            workers=workers or None, report=say)
        else:
            done = lab_sweep.run_here(scenario, params, points, directory, workers=workers or 1, report=say)
        return done.rows, done.failed
    if args.scheduler:
        return sweep.run_dask(scenario, params, points, address=args.scheduler, seed=seed,
                              as_lab=args.lab_timers, workers=workers or None), {}
    return sweep.run_local(scenario, params, points, seed=seed, as_lab=args.lab_timers,
                           workers=workers or None), {}
