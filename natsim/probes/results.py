"""How every probe tool hands over its result (a :class:`~natsim.report.schema.RunResult`): ``--out
FILE``, ``--json``, and what it is labelled."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from natsim.outfiles import refuse_link
from natsim.report.schema import RunResult


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
