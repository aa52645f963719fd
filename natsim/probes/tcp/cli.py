"""``natsim probe send|recv|keepalive``: the TCP idle-timeout probes on the command line.

Exit 0 when the run completed (whatever it found), 2 on usage or connection set-up errors.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from natsim.cliargs import time_scale_type
from natsim.probes.options import add_cli_options, from_cli
from natsim.probes.output import ProbeOutput, stdout_output
from natsim.probes.results import add_result_options, check_out, hand_out, run_result
from natsim.probes.tally import TallyWriter
from natsim.probes.tcp.keepalive import run_keepalive
from natsim.probes.tcp.options import OPTIONS, TcpProbeOptions, run_options
from natsim.probes.tcp.protocol import ECHO_PORT, SLEEP_PORT
from natsim.probes.tcp.recv import run_recv
from natsim.probes.tcp.send import run_send
from natsim.report.schema import ConnectionResult, ProbeResult, Verdict, estimate_timeout

Runner = Callable[[TcpProbeOptions, ProbeOutput | None], Coroutine[Any, Any, ProbeResult]]

#: CLI name → (result kind, runner, default port, help).
PROBES: dict[str, tuple[str, Runner, int, str]] = {
    "send": ("tcp-send", run_send, ECHO_PORT,
             "after each idle time write 'A' and expect it back (client speaks first)"),
    "recv": ("tcp-recv", run_recv, SLEEP_PORT,
             "ask the server to answer after each idle time (server speaks first)"),
    "keepalive": ("tcp-keepalive", run_keepalive, ECHO_PORT,
                  "let TCP keepalive probe each connection after its idle time"),
}


def register(sub: Any) -> None:
    """Add ``send``, ``recv`` and ``keepalive`` to ``natsim probe`` (their options come from the
    kinds' options classes, as in scenario files)."""
    for name, (kind, _, _, text) in PROBES.items():
        parser = sub.add_parser(name, help=text, description=f"{kind}: {text}. Durations are real-world "
                                "(1m, 2h4m, 90s); the lab waits duration/--time-scale.")
        parser.add_argument("--server", required=True, help="host running `natsim serve`")
        add_cli_options(parser, OPTIONS[kind])
        parser.add_argument("--time-scale", type=time_scale_type, default=1.0,
                            help="real-world seconds per wall second (lab runs; default 1)")
        parser.add_argument("--grace", type=float, default=10.0,
                            help="wall seconds past a deadline before silence counts as dead (default 10)")
        parser.add_argument("--connect-timeout", type=float, default=10.0,
                            help="wall seconds allowed per connect (default 10)")
        add_result_options(parser)
        parser.add_argument("--quiet", action="store_true", help="no per-connection lines")
        parser.set_defaults(func=lambda args, name=name: run_cli(name, args))


def options_from_args(args: argparse.Namespace, kind: str = "tcp-keepalive") -> TcpProbeOptions:
    """The probe options given on the command line (``kind``'s options plus where and how to run)."""
    return run_options(from_cli(OPTIONS[kind], args), server=args.server, time_scale=args.time_scale,
                       grace_wall=args.grace, connect_timeout_wall=args.connect_timeout,
                       name=args.name, node=args.node)


def run_cli(name: str, args: argparse.Namespace) -> int:
    """Run probe ``name``; print lines, the estimate, and write JSON when asked."""
    _, runner, _, _ = PROBES[name]
    check_out(args)
    options = options_from_args(args, PROBES[name][0])
    if options.time_scale != 1 and options.user_timeout is None and name == "send":
        print("natsim: note: without --user-timeout a dead connection takes the kernel's ~15 min "
              "(wall-clock) to report", file=sys.stderr)
    output = stdout_output(name)
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
            partial = partial_result(PROBES[name][0], options, output.results)
            hand_out(run_result(args.source, options, [partial], started=started, finished=time.time()),
                     args)
        raise
    hand_out(run_result(args.source, options, [result], started=started, finished=time.time()), args)
    return 0


def partial_result(kind: str, options: TcpProbeOptions, done: list[ConnectionResult]) -> ProbeResult:
    """The result of an interrupted run: the verdicts so far, the rest ``skipped``, ``complete=False``."""
    tested = {c.index for c in done}
    connections = sorted(done, key=lambda c: c.index) + [
        ConnectionResult(index=i, idle=options.idle(i), verdict=Verdict.SKIPPED, detail="run interrupted")
        for i in range(options.connections) if i not in tested]
    connections.sort(key=lambda c: c.index)
    return ProbeResult(name=options.name or kind, kind=kind,
                       target=f"{options.server}:{options.port_for(kind)}", node=options.node,
                       connections=connections, estimate=estimate_timeout(done), complete=False)
