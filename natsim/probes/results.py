"""Wrapping probe results into natsim's :class:`~natsim.report.schema.RunResult`, with the timers a
scaled run could not scale."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from natsim.outfiles import refuse_link
from natsim.probes.tcp.options import TcpProbeOptions
from natsim.report.schema import ProbeResult, RunResult


def unscaled_timers(options: TcpProbeOptions, result: ProbeResult | None = None) -> list[str]:
    """What in a run at ``options.time_scale`` is real (wall-clock) time rather than scaled time."""
    if options.time_scale == 1:
        return []
    notes = ["TCP retransmission timer (RTO, at least 200 ms, doubling) is not scaled",
             f"grace period {options.grace_wall:g} s before silence counts as dead is wall-clock"]
    if options.user_timeout is None:
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


def add_result_options(parser: argparse.ArgumentParser) -> None:
    """``--out FILE --json --source field|lab --name --node``: how a probe hands over its result."""
    parser.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help="write the result (natsim result schema, JSON) to FILE")
    parser.add_argument("--json", action="store_true",
                        help="print the result as JSON on stdout, and nothing else there (the "
                        "per-connection lines go to stderr)")
    parser.add_argument("--source", choices=("field", "lab"), default="field",
                        help="what the JSON result is labelled (default field)")
    parser.add_argument("--name", default=None, help="probe name in the result (default: the kind)")
    parser.add_argument("--node", default=None, help="lab node the probe runs on (recorded only)")
    parser.add_argument("--progress", type=Path, default=None, metavar="FILE",
                        help="after each connection's verdict rewrite FILE with 'TESTED TOTAL' (a lab "
                        "run's progress line reads it)")


def check_out(args: argparse.Namespace) -> None:
    """Refuse at once, before measuring, an ``--out`` that is a symbolic link (natsim never writes
    through one)."""
    if args.out is not None:
        refuse_link(args.out)


def hand_out(run: RunResult, args: argparse.Namespace) -> None:
    """Write ``run`` to ``--out`` and/or print it as the only thing on stdout with ``--json``."""
    if args.out is not None:
        run.save(args.out, for_user=True)   # never through a link; under sudo: the user's file
    if args.json:
        print(json.dumps(run.to_dict(), indent=2))
