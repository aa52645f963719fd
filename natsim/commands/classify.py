"""``natsim classify COMMAND``: a NAT-type classifier run in every configuration of a matrix scenario,
expected against reported (docs/stun.md, "A ground truth for classifiers")."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from natsim.commands.common import add_trust, builds_labs

#: Shipped scenario whose configurations are used unless ``--scenario`` names another.
MATRIX = "nat-type-matrix"


def register(sub: Any) -> None:
    """Add ``natsim classify``."""
    from natsim.classify.command import PLACEHOLDERS, TIMEOUT
    from natsim.classify.parsers import AUTO, PARSERS

    parser = sub.add_parser(
        "classify", help="run a NAT-type classifier command in every configuration of nat-type-matrix: "
                         "expected against reported",
        description="Bring up the scenario's lab (default: nat-type-matrix, nine NATs, one per RFC 4787 "
        "mapping x filtering, hairpinning in five) with natsim's RFC 5780 STUN server, then, one "
        "configuration at a time, empty every NAT's conntrack table and mapping tables and run COMMAND "
        "(a shell command line) as root in the configuration's client node; read what it reported and "
        "print a table: configuration, expected mapping/filtering/hairpinning, reported, agree or "
        "disagree. Output no parser understands is shown raw and marked `unparsed`. Exit 0 when every "
        "configuration's report was read (disagreements are counted in the table), 1 with "
        "--fail-on-disagree when one disagrees, 3 when one gave no answer (command not found, timed "
        "out, reported nothing) or was unparsed, 2 on error (nothing is built).",
        epilog="placeholders in COMMAND: " + "; ".join(f"{{{k}}} {v}" for k, v in PLACEHOLDERS.items())
        + ". example: natsim classify 'turnutils_natdiscovery -m -f -H {stun_host}'",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("classifier", metavar="COMMAND",
                        help="the classifier's command line, e.g. 'turnutils_natdiscovery -m -f -H "
                        "{stun_host}' (one argument: quote it)")
    parser.add_argument("--scenario", default=MATRIX, metavar="SCENARIO",
                        help="scenario whose nat-type probes with a `found` expectation are the "
                        f"configurations (default: {MATRIX})")
    parser.add_argument("--parser", default=AUTO, choices=[AUTO, *PARSERS],
                        help="how to read the classifier's standard output: "
                        + "; ".join(f"{p.name}: {p.summary}" for p in PARSERS.values())
                        + f" ({AUTO}, the default: the first that recognises it)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, metavar="SECONDS",
                        help=f"wall-clock limit of each configuration's run (default {TIMEOUT:g}); past "
                        "it the command is stopped and the verdict is `no answer`")
    parser.add_argument("--only", action="append", default=[], metavar="CONFIG",
                        help="run only this configuration (repeatable), e.g. adm-eif")
    parser.add_argument("--fail-on-disagree", action="store_true",
                        help="exit 1 when a configuration's report disagrees with the truth (for CI)")
    parser.add_argument("--json", action="store_true",
                        help="print the rows as JSON (with each run's command, exit code and output) "
                        "instead of the table")
    add_trust(parser)
    parser.set_defaults(func=run)
    builds_labs(parser)


def run(args: argparse.Namespace) -> int:
    """Run the classifier everywhere and print the table (or JSON)."""
    from natsim.classify.runner import run_classifier
    from natsim.classify.table import exit_code, format_table, to_json
    from natsim.scenario import load_scenario

    scenario = load_scenario(args.scenario, trust=args.trust)
    rows = run_classifier(scenario, args.classifier, parser=args.parser, timeout=args.timeout,
                          only=args.only, announce=_announce)
    if args.json:
        print(json.dumps(to_json(scenario.name, args.classifier, args.parser, rows), indent=2))
    else:
        sys.stdout.write(format_table(rows))
    return exit_code(rows, args.fail_on_disagree)


def _announce(runs: list[tuple[Any, str]]) -> None:
    """What will run, exactly, before it does (stderr): the user typed it, and it runs as root."""
    lines = ["natsim: runs as root, one configuration at a time, in each client node (its own network "
             "namespace; the host's files), after emptying every NAT's tables:"]
    lines += [f"  {config.client} ({config.name}): {command}" for config, command in runs]
    print("\n".join(lines), file=sys.stderr, flush=True)
