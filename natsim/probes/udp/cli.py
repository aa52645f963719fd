"""The UDP idle probes as tools (``natsim probe udp-send|udp-recv|udp-keepalive``): the flags a UDP tool
adds to its kind's, the run, and its result in natsim's schema.

Exit 0 when the run completed (whatever it found), 2 on usage or flow set-up errors.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable

from natsim.probes.idle_ladder import GRACE_WALL, partial_result
from natsim.probes.options import from_cli
from natsim.probes.output import stdout_output
from natsim.probes.registry import ProbeKind
from natsim.probes.results import check_out, hand_out
from natsim.probes.tally import TallyWriter
from natsim.probes.udp.exchanges import run_udp, unscaled_timers
from natsim.probes.udp.options import SETUP_TIMEOUT_WALL, UdpProbeOptions, UdpSendOptions, run_options
from natsim.report.schema import ProbeResult, RunResult


def build(parser: argparse.ArgumentParser, kind: ProbeKind) -> Callable[[argparse.Namespace], int]:
    """Add a UDP tool's own flags to ``parser``; return what runs it."""
    parser.add_argument("--server", required=True, help="host running `natsim serve`")
    parser.add_argument("--grace", type=float, default=GRACE_WALL,
                        help="wall seconds past a deadline before silence counts as dead "
                        f"(default {GRACE_WALL:g})")
    parser.add_argument("--setup-timeout", type=float, default=SETUP_TIMEOUT_WALL,
                        help="wall seconds a flow's first exchange may take "
                        f"(default {SETUP_TIMEOUT_WALL:g})")
    parser.add_argument("--quiet", action="store_true", help="no per-connection lines")
    return lambda args: run_cli(kind, args)


def options_from_args(kind: ProbeKind, args: argparse.Namespace) -> UdpProbeOptions:
    """The run's options: ``kind``'s options from the command line plus where and how to run
    (``--port`` defaults to the kind's service)."""
    declared = from_cli(kind.options, args)
    assert isinstance(declared, UdpSendOptions) and kind.service is not None
    port = kind.service.port if declared.port is None else declared.port
    return run_options(declared, server=args.server, port=port, time_scale=args.time_scale,
                       grace_wall=args.grace, setup_timeout_wall=args.setup_timeout, name=args.name,
                       node=args.node)


def run_cli(kind: ProbeKind, args: argparse.Namespace) -> int:
    """Run the probe; print lines, the estimate, and write JSON when asked."""
    check_out(args)
    options = options_from_args(kind, args)
    output = stdout_output(kind.tool.name if kind.tool else kind.name)
    if args.json:
        output.out = sys.stderr   # stdout holds the JSON result only
    if args.quiet:
        output.out = None
    output.tally = TallyWriter(args.progress, options.connections)
    started = time.time()
    try:
        result = asyncio.run(run_udp(kind.name, options, output))
    except (KeyboardInterrupt, SystemExit):  # Ctrl-C or SIGTERM: keep what was measured
        if args.out is not None or args.json:
            partial = partial_result(kind.name, options, output.results, name=options.name,
                                     target=f"{options.server}:{options.port}", node=options.node)
            hand_out(run_result(args.source, options, [partial], started=started, finished=time.time()),
                     args)
        raise
    hand_out(run_result(args.source, options, [result], started=started, finished=time.time()), args)
    return 0


def run_result(source: str, options: UdpProbeOptions, probes: list[ProbeResult], *,
               started: float, finished: float) -> RunResult:
    """A :class:`RunResult` for probe results measured with ``options``."""
    notes = [f"{p.name}: {p.estimate.describe()}" for p in probes if p.estimate is not None]
    return RunResult(source=source, time_scale=options.time_scale, started=started, finished=finished,
                     probes=probes, unscaled=unscaled_timers(options), notes=notes,
                     complete=all(p.complete for p in probes))
