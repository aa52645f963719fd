"""``natsim run SCENARIO``: run a scenario in the lab, write its report, check its expectations."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from natsim.cliargs import add_time_scale, parse_sets
from natsim.commands.common import add_set, add_trust, builds_labs
from natsim.errors import EXIT_INTERRUPTED, ConfigError
from natsim.paths import inside
from natsim.privileges import require_lab_privileges
from natsim.report.schema import RunResult
from natsim.scenario import Scenario, load_scenario


def register(sub: Any) -> None:
    """Add ``natsim run``."""
    parser = sub.add_parser(
        "run", help="run a scenario in the lab and check its expectations",
        description="Build the scenario's lab, run its probes as declared, capture every link, write "
        "DIR/result.json, DIR/summary.txt and DIR/survival.png (with --html also DIR/report.html), then "
        "check `expect:`. Exit 0 when every "
        "expectation holds, 1 when one fails, 2 on error, 3 when a probe could not run (the summary "
        "names it and its log), 130 when interrupted (what was measured is still written).",
        epilog="example: natsim run isp-modem-bridge-1h --out out/modem")
    parser.add_argument("scenario", help="scenario file, or the name of a shipped scenario")
    add_time_scale(parser, None, note="60: 1 h runs in 1 min")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="output directory (default: natsim-out/NAME-TIME)")
    parser.add_argument("--json", action="store_true",
                        help="print result.json (with --compare: plus a \"comparison\" list) on stdout "
                        "instead of the summary; every other message goes to stderr")
    parser.add_argument("--probe-cmd", nargs=2, action="append", metavar=("NODE", "CMD"),
                        help="also run your own probe CMD on NODE; its exit code must be 0 (repeatable)")
    parser.add_argument("--compare", action="store_true",
                        help="also predict with the model and show both side by side (with --json: in "
                        "the JSON); disagreement exits 1")
    parser.add_argument("--html", action="store_true",
                        help="also write DIR/report.html: one self-contained page (nothing fetched from "
                        "the network) with the lab map, the summary and expectations, the survival plot, "
                        "the model's verdicts beside the lab's, a ladder diagram of each dead connection "
                        "and the middleboxes' conntrack timeline")
    add_set(parser)
    add_trust(parser)
    parser.set_defaults(func=run)
    builds_labs(parser)


def run(args: argparse.Namespace) -> int:
    """Load (nothing is created when invalid), then run."""
    from natsim.run.experiment import run_scenario

    scenario = load_scenario(args.scenario, time_scale=args.time_scale, trust=args.trust,
                             sets=parse_sets(args.set))
    extra = {}
    expect = dict(scenario.expect)
    for i, (node, command) in enumerate(args.probe_cmd or [], start=1):
        if node not in scenario.roles:
            raise ConfigError(f"--probe-cmd: no node '{node}' (nodes: {', '.join(scenario.roles)})")
        name = f"probe-cmd-{i}"
        extra[name] = (node, command)
        expect[name] = {"exit_code": 0}
    if extra:
        from dataclasses import replace
        scenario = replace(scenario, expect=expect)
    require_lab_privileges("natsim run")
    out = args.out or inside(Path("natsim-out"), f"{scenario.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    writers = []
    if args.html:
        from natsim.analysis.run_report import HtmlWriter
        writers.append(HtmlWriter())
    try:
        outcome = run_scenario(scenario, out, extra=extra, writers=writers)
    except KeyboardInterrupt:
        print(f"natsim: interrupted; partial result in {out}/", file=sys.stderr)
        return EXIT_INTERRUPTED
    code = outcome.exit_code
    report = f"report: {out}/summary.txt, {out}/result.json, {out}/survival.png" + "".join(
        f", {out}/{writer.name}" for writer in writers)
    if args.json:
        return max(code, _print_json(outcome.result, scenario if args.compare else None, report))
    print(outcome.summary, end="")
    if args.compare:
        from natsim.run.compare import compare_with_model
        code = max(code, compare_with_model(scenario, outcome.result))
    print(report)
    return code


def _print_json(result: RunResult, compare_to: Scenario | None, report: str) -> int:
    """stdout: one JSON document, result.json plus (``compare_to``) a ``comparison`` list of rows;
    the report line goes to stderr. Returns 1 when a compared connection disagrees."""
    document = result.to_dict()
    code = 0
    if compare_to is not None:
        from natsim.run.compare import all_agree, model_rows
        rows = model_rows(compare_to, result)
        document["comparison"] = [row.to_dict() for row in rows]
        code = 0 if all_agree(rows) else 1
    print(report, file=sys.stderr)
    print(json.dumps(document, indent=2))
    return code
