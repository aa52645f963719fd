"""Time of ``predict()`` for the ISP incident scenario (target: < 0.2 s), and the model's events/s.

Usage: .venv/bin/python benchmarks/sim_predict.py [SCENARIO] [RUNS]   (no root needed)
"""

from __future__ import annotations

import statistics
import sys
import time

from figures import Figure, record

from natsim.run.predict import build
from natsim.scenario import load_scenario


def once(scenario: object) -> tuple[float, int]:
    """Wall time of one full prediction and the number of simpy events it processed."""
    start = time.perf_counter()
    world, models = build(scenario)  # type: ignore[arg-type]
    for model in models:
        model.start()
    events = 0
    env = world.env
    while env.peek() != float("inf"):
        env.step()
        events += 1
    for model in models:
        model.result()
    return time.perf_counter() - start, events


def main() -> None:
    """Print median/min time and events per second."""
    name = sys.argv[1] if len(sys.argv) > 1 else "isp-modem-bridge-1h"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    scenario = load_scenario(name)
    once(scenario)   # warm-up (imports, caches)
    results = [once(scenario) for _ in range(runs)]
    times = [t for t, _ in results]
    events = results[0][1]
    median = statistics.median(times)
    print(f"predict {name}: median {median * 1000:.1f} ms, min {min(times) * 1000:.1f} ms over {runs} runs "
          f"(target < 200 ms); {events} events = {events / median:,.0f} events/s")
    record(Figure("sim_predict", f"predict() {name}", median * 1000, "ms", 200.0))


if __name__ == "__main__":
    main()
