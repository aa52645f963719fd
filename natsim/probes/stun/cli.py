"""``natsim probe nat-type --stun HOST[:PORT]``: RFC 5780 NAT behaviour discovery as a tool.

Exit 0 when the tests ran, whatever they found (a server that never answers is the verdict ``dead``,
"no answer", and the classification ``unknown``); 2 on usage errors, a host that does not resolve or
no route to it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable

from natsim.errors import ProbeError
from natsim.probes.options import from_cli
from natsim.probes.output import ProbeOutput, stdout_output
from natsim.probes.registry import ProbeKind
from natsim.probes.results import check_out, hand_out
from natsim.probes.stun.discovery import Discovery, Plan, Step, discover
from natsim.probes.stun.nat_report import connection, describe, probe_result, summary_lines, verdict
from natsim.probes.stun.options import NatTypeOptions
from natsim.probes.tally import TallyWriter
from natsim.report.schema import ProbeResult, RunResult, Verdict
from natsim.units import format_duration

#: Wall seconds one exchange waits for its answer (retransmitting), unless --timeout says otherwise.
TIMEOUT = 3.0


def build(parser: argparse.ArgumentParser, kind: ProbeKind) -> Callable[[argparse.Namespace], int]:
    """Add the tool's own flags; return what runs it."""
    port = kind.service.port if kind.service is not None else 0
    parser.add_argument("--stun", required=True, metavar="HOST[:PORT]",
                        help=f"the RFC 5780 STUN server (default port {port}, or --port)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, metavar="SECONDS",
                        help=f"wall seconds each exchange waits for its answer, retransmitting "
                        f"(default {TIMEOUT:g})")
    parser.add_argument("--quiet", action="store_true", help="no per-exchange lines (the findings only)")
    return lambda args: run_cli(kind, args)


def run_cli(kind: ProbeKind, args: argparse.Namespace) -> int:
    """Run the tests; print a line per exchange and the classification; hand out the result."""
    # aioice (the codec, under .udp) is imported only when a tool runs, not when `natsim` starts
    from natsim.probes.stun.udp import UdpNetwork, local_address_towards, resolve

    check_out(args)
    options = from_cli(kind.options, args)
    assert isinstance(options, NatTypeOptions) and kind.service is not None
    if not args.timeout > 0:
        raise ProbeError(f"--timeout must be positive, got {args.timeout}")
    server = resolve(args.stun, options.port or kind.service.port)
    network = UdpNetwork(local_address_towards(server), timeout=args.timeout)
    plan = Plan(mapping="mapping" in options.tests, filtering="filtering" in options.tests,
                hairpinning="hairpinning" in options.tests, lifetimes=options.lifetimes(),
                time_scale=args.time_scale, padding=options.padding)
    output = stdout_output(kind.tool.name if kind.tool else kind.name)
    text = sys.stderr if args.json else sys.stdout   # with --json, stdout holds the JSON result only
    output.out = None if args.quiet else text
    tally = TallyWriter(args.progress, None)   # how many exchanges depends on the answers
    found = Discovery(server, on_step=lambda step: _show(output, tally, step))
    started = time.time()
    try:
        asyncio.run(discover(network, server, plan, found))
    except (KeyboardInterrupt, SystemExit):   # Ctrl-C or SIGTERM: keep what was observed
        if args.out is not None or args.json:
            partial = probe_result(found, kind=kind.name, name=args.name, node=args.node, complete=False)
            hand_out(run_result(args, partial, started), args)
        raise
    result = probe_result(found, kind=kind.name, name=args.name, node=args.node)
    for line in summary_lines(result):
        print(line, file=text)
    hand_out(run_result(args, result, started), args)
    return 0


def _show(output: ProbeOutput, tally: TallyWriter, step: Step) -> None:
    """One timestamped line per exchange: ``[+] filtering-2: ok: change IP and port to ...``; one more
    in the ``--progress`` file."""
    tally.record(connection(tally.done, step))
    judged = verdict(step)
    mark = "+" if judged in (Verdict.OK, Verdict.ALIVE) else "-"
    wait = f" after {format_duration(step.wait)}" if step.test == "lifetime" else ""
    output.line(f"[{mark}] {step.test}{wait}: {judged.value}: {describe(step)}")


def run_result(args: argparse.Namespace, probe: ProbeResult, started: float) -> RunResult:
    """The run's :class:`RunResult`: what is wall-clock in a scaled run, and the classification."""
    unscaled = [] if args.time_scale == 1 else [
        f"STUN retransmissions (0.5 s, doubling) and the {args.timeout:g} s each exchange waits for its "
        "answer are wall-clock"]
    extra = probe.extra
    note = f"{probe.name}: mapping {extra['mapping']}, filtering {extra['filtering']} ({extra['classic']})"
    return RunResult(source=args.source, time_scale=args.time_scale, started=started, finished=time.time(),
                     probes=[probe], unscaled=unscaled, notes=[note], complete=probe.complete)
