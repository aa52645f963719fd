"""The TCP idle-timeout probes as tools (``natsim probe send|recv|keepalive``): the flags a TCP tool adds
to its kind's, the run, and its result in natsim's schema.

Exit 0 when the run completed (whatever it found), 2 on usage or connection set-up errors.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from natsim.probes.idle_ladder import partial_result
from natsim.probes.options import from_cli
from natsim.probes.output import ProbeOutput, stdout_output
from natsim.probes.registry import ProbeKind, ToolBuilder
from natsim.probes.results import check_out, hand_out
from natsim.probes.tally import TallyWriter
from natsim.probes.tcp.keepalive import run_keepalive
from natsim.probes.tcp.options import (
    CONNECT_TIMEOUT_WALL,
    GRACE_WALL,
    TcpProbeOptions,
    TcpSendOptions,
    run_options,
)
from natsim.probes.tcp.recv import run_recv
from natsim.probes.tcp.send import run_send
from natsim.report.schema import ProbeResult, RunResult

Runner = Callable[[TcpProbeOptions, ProbeOutput | None], Coroutine[Any, Any, ProbeResult]]

#: What every TCP tool's ``--help`` adds to its kind's summary.


def tool(runner: Runner, *, warn_without_user_timeout: bool = False) -> ToolBuilder:
    """The tool of a TCP kind that runs ``runner``; ``warn_without_user_timeout``: say on stderr that a
    scaled run without ``--user-timeout`` reports a dead connection only after the kernel gives up."""
    def build(parser: argparse.ArgumentParser, kind: ProbeKind) -> Callable[[argparse.Namespace], int]:
        parser.add_argument("--server", required=True, help="host running `natsim serve`")
        parser.add_argument("--grace", type=float, default=GRACE_WALL,
                            help="wall seconds past a deadline before silence counts as dead "
                            f"(default {GRACE_WALL:g})")
        parser.add_argument("--connect-timeout", type=float, default=CONNECT_TIMEOUT_WALL,
                            help=f"wall seconds allowed per connect (default {CONNECT_TIMEOUT_WALL:g})")
        parser.add_argument("--quiet", action="store_true", help="no per-connection lines")
        return lambda args: run_cli(kind, runner, args, warn=warn_without_user_timeout)
    return build


def options_from_args(kind: ProbeKind, args: argparse.Namespace) -> TcpProbeOptions:
    """The run's options: ``kind``'s options from the command line plus where and how to run
    (``--port`` defaults to the kind's service)."""
    declared = from_cli(kind.options, args)
    assert isinstance(declared, TcpSendOptions) and kind.service is not None
    port = kind.service.port if declared.port is None else declared.port
    return run_options(declared, server=args.server, port=port, time_scale=args.time_scale,
                       grace_wall=args.grace, connect_timeout_wall=args.connect_timeout,
                       name=args.name, node=args.node)


def run_cli(kind: ProbeKind, runner: Runner, args: argparse.Namespace, *, warn: bool = False) -> int:
    """Run the probe; print lines, the estimate, and write JSON when asked."""
    check_out(args)
    options = options_from_args(kind, args)
    if warn and options.time_scale != 1 and not options.user_timeout:
        print("natsim: note: without --user-timeout a dead connection takes the kernel's ~15 min "
              "(wall-clock) to report", file=sys.stderr)
    output = stdout_output(kind.tool.name if kind.tool else kind.name)
    if args.json:
        output.out = sys.stderr   # stdout holds the JSON result only
    if args.quiet:
        output.out = None
    output.tally = TallyWriter(args.progress, options.connections)
    started = time.time()
    try:
        result = asyncio.run(runner(options, output))
    except (KeyboardInterrupt, SystemExit):  # Ctrl-C or SIGTERM: keep what was measured
        if args.out is not None or args.json:
            partial = partial_result(kind.name, options, output.results, name=options.name,
                                     target=f"{options.server}:{options.port}", node=options.node)
            hand_out(run_result(args.source, options, [partial], started=started, finished=time.time()),
                     args)
        raise
    hand_out(run_result(args.source, options, [result], started=started, finished=time.time()), args)
    return 0


def unscaled_timers(options: TcpProbeOptions, result: ProbeResult | None = None) -> list[str]:
    """What in a run at ``options.time_scale`` is real (wall-clock) time rather than scaled time."""
    if options.time_scale == 1:
        return []
    notes = ["TCP retransmission timer (RTO, at least 200 ms, doubling) is not scaled",
             f"grace period {options.grace_wall:g} s before silence counts as dead is wall-clock"]
    if not options.user_timeout:
        notes.append("no --user-timeout: a dead connection takes the kernel's tcp_retries2 "
                     "(about 15 min wall-clock) to report")
    if result is not None:
        extra = result.extra.get("unscaled", [])
        if isinstance(extra, list):
            notes.extend(str(n) for n in extra)
    return notes


def run_result(source: str, options: TcpProbeOptions, probes: list[ProbeResult], *,
               started: float, finished: float) -> RunResult:
    """A :class:`RunResult` for probe results measured with ``options``."""
    unscaled: list[str] = []
    for probe in probes:
        for note in unscaled_timers(options, probe):
            if note not in unscaled:
                unscaled.append(note)
    notes = [f"{p.name}: {p.estimate.describe()}" for p in probes if p.estimate is not None]
    return RunResult(source=source, time_scale=options.time_scale, started=started, finished=finished,
                     probes=probes, unscaled=unscaled, notes=notes,
                     complete=all(p.complete for p in probes))


#: The three tools' parser builders (their kinds: :mod:`.kinds`).
SEND = tool(run_send, warn_without_user_timeout=True)
RECV = tool(run_recv)
KEEPALIVE = tool(run_keepalive)
