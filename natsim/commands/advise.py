"""``natsim advise SCENARIO [--app APP] [--verify]``: the largest keepalive that keeps every middlebox
on the scenario's path from expiring the flow, as the application's exact configuration line, and the
middlebox that binds (:mod:`natsim.run.advise`). The model checks it; ``--verify`` checks it in a lab.

Exit 0 when the advice holds (in the model, and in the lab with ``--verify``), 1 when a check fails,
2 on a configuration error.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from natsim.cliargs import add_time_scale
from natsim.commands.common import BUILDS_LAB, add_set, add_trust
from natsim.commands.predict import load
from natsim.errors import EXIT_CHECK_FAILED, EXIT_OK
from natsim.units import format_duration


def register(sub: Any) -> None:
    """Add ``natsim advise``."""
    from natsim.run.advise import APPS

    parser = sub.add_parser("advise", help="the largest keepalive that keeps the scenario's path open",
                            description="Find, with the model, the largest keepalive (or the "
                            "application's own setting) that keeps every middlebox on the path of the "
                            "scenario's first probe from expiring the flow; print the exact configuration "
                            "line and the middlebox that binds.")
    parser.add_argument("scenario", help="scenario file or shipped scenario name")
    parser.add_argument("--app", default="linux-keepalive", metavar="APP",
                        help=f"the application to configure: {', '.join(sorted(APPS))} "
                        "(default linux-keepalive)")
    # --verify builds a lab: its flag is the one natsim reads to enter its own namespaces first
    parser.add_argument("--verify", action="store_true", dest=BUILDS_LAB,
                        help="also check the advice in the lab: a keepalive after the advised idle is "
                        "answered, one just past the binding timeout fails")
    parser.add_argument("--out", type=Path, help="--verify's output directory (default: "
                        "natsim-out/advise-NAME-TIME)")
    add_time_scale(parser, None, note="--verify's lab and the model's check")
    add_set(parser)
    add_trust(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Advise, check with the model, and with ``--verify`` in the lab."""
    from natsim.run.advise import advise, check_scenario, check_text, check_values, checked, describe
    from natsim.run.predict import predict

    scenario = load(args.scenario, args.time_scale, trust=args.trust, sets=args.set)
    advice = advise(scenario, args.app)
    print("\n".join(describe(advice)))
    check = check_scenario(scenario, advice)
    advised = format_duration(check_values(check)[0])
    if advised != format_duration(advice.value):
        print(f"  checked at {advised}: {advice.value} s floored to whole lab seconds at time scale "
              f"{check.time_scale.factor:g} (--time-scale 1 checks the value itself)")
    problems = [f"model: {p}" for p in checked(predict(check))]
    print(f"  model (lab at time scale {check.time_scale.factor:g}): "
          + ("; ".join(problems) or check_text(advice, check)))
    if vars(args)[BUILDS_LAB] and not problems:
        from natsim.run.experiment import run_scenario

        out = args.out or Path("natsim-out") / f"advise-{scenario.name}-{time.strftime('%Y%m%d-%H%M%S')}"
        outcome = run_scenario(check, out)
        lab = [f"lab: {p}" for p in checked(outcome.result)]
        problems += lab
        print("  lab: " + ("; ".join(lab) or "the same, measured") + f" (outputs in {out})")
    return EXIT_CHECK_FAILED if problems else EXIT_OK
