"""``natsim conform TOPOLOGY:NODE``: RFC 5382 / RFC 4787 conformance of a lab middlebox."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from natsim.cliargs import add_time_scale, parse_sets
from natsim.commands.common import add_trust, builds_labs


def register(sub: Any) -> None:
    """Add ``natsim conform``."""
    parser = sub.add_parser(
        "conform", help="test a lab middlebox against RFC 5382 (TCP) and RFC 4787 (UDP)",
        description="Bring up TOPOLOGY with NODE as the device under test (other middleboxes made "
                    "transparent) and run the conformance battery. Durations are real-world; the "
                    "time scale makes a 2h4m timeout a few lab seconds.")
    parser.add_argument("target", metavar="TOPOLOGY:NODE",
                        help="e.g. isp-bridge-cgn:cgn; TOPOLOGY may be FILE.py[:NAME]")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="NODE.KEY=VALUE",
                        help="middlebox setting, e.g. cgn.idle_timeout=1h (repeatable)")
    add_time_scale(parser, 240.0, note="2h4m → 31 s, 4m → 1 s")
    parser.add_argument("--only", action="append", metavar="REQ",
                        help="run only these requirements (prefix match, e.g. rfc5382-req5, rfc4787)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_trust(parser)
    parser.set_defaults(func=run)
    builds_labs(parser)


def render(report: Any) -> str:
    """Text table of a :class:`~natsim.conform.battery.ConformReport`."""
    lines = [f"conformance of {report.target} (time scale {report.time_scale:g})"]
    lines += [f"  note: {n}" for n in report.notes]
    width = max((len(v.requirement) for v in report.verdicts), default=10)
    for v in report.verdicts:
        lines.append(f"{v.outcome.value:<11} {v.requirement:<{width}}  {v.measured}")
        lines.append(f"{'':<11} {'':<{width}}  {v.title}")
        lines += [f"{'':<11} {'':<{width}}    · {e}" for e in v.evidence]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Run the battery; exit 1 when any requirement fails."""
    from natsim.conform.battery import run_battery
    from natsim.conform.verdict import Outcome

    report = run_battery(args.target, parse_sets(args.settings), time_scale=args.time_scale, only=args.only,
                         trust=args.trust)
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        print()
    else:
        sys.stdout.write(render(report))
    return 1 if any(v.outcome is Outcome.FAIL for v in report.verdicts) else 0
