"""``natsim predict SCENARIO [--json] [--seed N]``: the model's result, with an explanation per verdict.

Needs no root and touches no kernel state. The output uses the schema ``natsim run`` writes, so
``--json`` output compares directly with a lab result.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from natsim.cliargs import parse_sets
from natsim.commands.common import add_set, add_trust
from natsim.errors import ConfigError
from natsim.outfiles import OutputDir
from natsim.report.schema import ProbeResult, RunResult
from natsim.report.summary import devices
from natsim.units import format_duration


def parse_seed(text: str) -> int:
    """``--seed`` as a whole number, or :class:`ConfigError`."""
    try:
        return int(text, 10)
    except (TypeError, ValueError):
        raise ConfigError(f"--seed: expected a whole number, got {text!r}") from None


def load(path: str, time_scale: float | None = None, *, trust: bool = False,
         sets: list[str] | None = None) -> Any:
    """The scenario at ``path`` for the model (``natsim.scenario`` is imported only when needed);
    ``trust`` lets it run a topology file (no probe's own code runs in the model: commands, ssh options);
    ``sets``: ``--set NODE.SETTING=VALUE`` items over its middleboxes' settings."""
    from natsim.scenario import load_scenario

    return load_scenario(path, time_scale=time_scale or None, trust=trust, model_only=True,
                         sets=parse_sets(sets))


def register(sub: Any) -> None:
    """Add ``natsim predict``."""
    parser = sub.add_parser("predict", help="predict a scenario's outcome with the simpy model",
                            description="Run a scenario's probes through the model (no root needed) "
                            "and explain every verdict.")
    parser.add_argument("scenario", help="scenario file or shipped scenario name")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--seed", default="0", help="seed for random choices (default 0)")
    parser.add_argument("--out", type=Path, help="also write the JSON result to this file")
    parser.add_argument("--real-world", action="store_true",
                        help="predict a real network: no lab distortions (unscaled RTO, whole lab seconds)")
    parser.add_argument("--all", action="store_true", help="explain every connection, not just changes")
    add_set(parser)
    add_trust(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Predict and print."""
    from natsim.run.predict import predict
    seed = parse_seed(args.seed)
    scenario = load(args.scenario, trust=args.trust, sets=args.set)
    with contextlib.ExitStack() as stack:
        if args.out:   # never through a link, one natsim per directory; under sudo: the user's file
            directory = stack.enter_context(OutputDir.open(args.out.parent, for_user=True))
            directory.lock()
            directory.refuse_links([args.out.name])
        result = predict(scenario, seed, as_lab=not args.real_world)
        if args.out:
            directory.write_text(args.out.name, result.to_json())
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=2)
        print()
    else:
        print(render(result, every=args.all, real_world=args.real_world))
    return 0


def render(result: RunResult, *, every: bool = False, real_world: bool = False) -> str:
    """Plain-text report: per probe its verdict counts, estimate and the explanations where the
    verdict changes (all of them with ``every``). ``real_world``: the prediction is for a real
    network (``--real-world``), not for the lab at the scenario's time scale."""
    if real_world:
        heading = ("(model of a real network: every timer at real-world speed, no lab time scale; "
                   "all times real-world)")
    else:
        heading = (f"(model of the lab at time scale {result.time_scale:g}, its unscaled timers "
                   "included; all times real-world)")
    lines = [f"prediction for {result.scenario} {heading}", *devices(result)]
    for probe in result.probes:
        lines.extend(_probe_lines(probe, every))
    skipped = [n for n in result.notes if " is not modelled" in n]
    if skipped:
        lines.append("\n" + "\n".join(skipped))
    if result.unscaled:
        lines.append("timers the lab does not scale (included in the prediction):")
        lines.extend(f"  {u}" for u in result.unscaled)
    return "\n".join(lines)


def _probe_lines(probe: ProbeResult, every: bool) -> list[str]:
    counts: dict[str, int] = {}
    for c in probe.connections:
        counts[c.verdict.value] = counts.get(c.verdict.value, 0) + 1
    summary = ", ".join(f"{n} {v}" for v, n in counts.items())
    out = [f"\n{probe.name} ({probe.kind} -> {probe.target}): {summary}"
           + ("" if probe.complete else " [incomplete]")]
    if probe.estimate is not None:
        out.append(f"  estimate: {probe.estimate.describe()}")
    if probe.extra.get("summary"):   # a kind's one-line finding (nat-type: its NAT type)
        out.append(f"  found: {probe.extra['summary']}")
    previous = None
    width = max((len(c.name) for c in probe.connections), default=0)
    for c in probe.connections:
        if every or c.verdict != previous:
            elapsed = format_duration(c.elapsed) if c.elapsed is not None else "-"
            idle = format_duration(c.idle)
            out.append(f"  [{c.verdict.value:>7}] {c.name:<{width}} idle {idle:>8}  at {elapsed:>8}  "
                       f"{c.explanation}")
        previous = c.verdict
    return out
