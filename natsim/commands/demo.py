"""``natsim demo``: reproduce "my idle SSH sessions die after an hour" end to end (~3 minutes)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from natsim.commands.common import builds_labs
from natsim.privileges import require_lab_privileges

DEMO_SCENARIO = "isp-modem-bridge-1h"


def register(sub: Any) -> None:
    """Add ``natsim demo``."""
    parser = sub.add_parser(
        "demo", help=f"run the {DEMO_SCENARIO} scenario end to end and show where the report is",
        description="Reproduce the ISP incident: a bridge-mode cable modem that drops connections idle "
        "for 1 h. Runs the three NAT-TCP-test probes (130 connections each) at time scale 60, then "
        "shows the summary, the model's prediction beside it, and where the report is.")
    parser.add_argument("--out", type=Path, metavar="DIR", help="output directory")
    parser.set_defaults(func=run)
    builds_labs(parser)


def run(args: argparse.Namespace) -> int:
    """Run the demo scenario."""
    from natsim.run.compare import compare_with_model
    from natsim.run.experiment import run_scenario
    from natsim.scenario import load_scenario

    scenario = load_scenario(DEMO_SCENARIO)
    require_lab_privileges("natsim demo")
    out = args.out or Path("natsim-out") / f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    print(f"natsim demo: {scenario.description}\nA 2 h 10 min experiment at time scale "
          f"{scenario.time_scale.factor:g}: about {130 * 60 / scenario.time_scale.factor / 60:.0f} minutes.",
          flush=True)
    outcome = run_scenario(scenario, out)
    from natsim.report.summary import format_summary

    print(format_summary(outcome.result, outcome.checks, connections=False), end="")
    print()
    compare_with_model(scenario, outcome.result, brief=True)
    print(f"\nreport: {out.resolve()}/ (summary.txt, result.json, survival.png, pcap/)")
    return outcome.exit_code
