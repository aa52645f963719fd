"""Wall time and verdict agreement of the ISP incident's send and recv ladders (``isp-modem-bridge-1h``
restricted to its send and recv probes, 130 connections each) at time scales 60, 120, 300 and 600.

Per scale: the wall time of ``natsim run`` (lab up, both ladders, captures, report, lab down), whether
the lab's verdicts meet the scenario's expectations (0..58 alive, 59.. dead; recv all alive), whether
they equal the verdicts at the first scale, and how many connections disagree with the model.
Target (issue 23): scale 600 in at most 20 s with the same verdicts. Prints numbers; asserts nothing.

Run as root or as a user the kernel gives namespaces (``natsim doctor``):
``.venv/bin/python benchmarks/time_scales.py [SCALE ...]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from figures import Figure, record
from own_namespace import enter_for_labs

from natsim.report.schema import RunResult
from natsim.run.compare import all_agree, model_rows
from natsim.run.experiment import run_scenario
from natsim.scenario import Scenario, load_scenario

SCALES = (60.0, 120.0, 300.0, 600.0)
PROBES = ("send", "recv")
TARGET_WALL = 20.0


def restricted(scale: float) -> Scenario:
    """isp-modem-bridge-1h with its send and recv probes only, at ``scale``."""
    full = load_scenario("isp-modem-bridge-1h")
    return replace(full, probes=tuple(p for p in full.probes if p.name in PROBES),
                   expect={k: v for k, v in full.expect.items() if k in PROBES}).with_time_scale(scale)


def verdicts(result: RunResult) -> dict[str, list[str]]:
    """Per probe, its connections' verdicts in order."""
    return {p.name: [c.verdict.value for c in p.connections] for p in result.probes}


def main() -> None:
    scales = [float(s) for s in sys.argv[1:]] or list(SCALES)
    enter_for_labs()
    reference: dict[str, list[str]] | None = None
    first_wall: float | None = None
    print(f"{'scale':>6} {'wall s':>7} {'expectations':>12} {'same as first':>13} {'model':>14}  rounded")
    for scale in scales:
        scenario = restricted(scale)
        with tempfile.TemporaryDirectory(prefix="natsim-bench-") as out:
            start = time.perf_counter()
            outcome = run_scenario(scenario, Path(out) / "run")
            wall = time.perf_counter() - start
        seen = verdicts(outcome.result)
        reference = seen if reference is None else reference
        first_wall = wall if first_wall is None else first_wall
        rows = model_rows(scenario, outcome.result)
        agree = sum(row.agrees for row in rows)
        print(f"{scale:>6g} {wall:>7.1f} {'met' if outcome.exit_code == 0 else 'FAILED':>12} "
              f"{'yes' if seen == reference else 'NO':>13} {f'{agree}/{len(rows)} agree':>14}  "
              f"{'; '.join(r.describe() for r in scenario.rounded) or '-'}"
              + ("" if all_agree(rows) else "  (model disagrees)"))
        exact = outcome.exit_code == 0 and seen == reference and all_agree(rows)
        record(Figure("time_scales", f"isp send+recv at scale {scale:g}: verdicts met, same, model agrees",
                      1.0 if exact else 0.0, "", 1.0, at_most=False))
        if scale == max(scales):
            record(Figure("time_scales", f"isp send+recv at scale {scale:g}", wall, "s", TARGET_WALL,
                          reference=first_wall if scale != scales[0] else None,
                          reference_name=f"at scale {scales[0]:g}"))
    print(f"target: scale 600 in <= {TARGET_WALL:.0f} s wall with the same verdicts")


if __name__ == "__main__":
    main()
