"""The timer wheel of SYN retransmissions (:mod:`natsim.sim.wheel`)."""

from __future__ import annotations

import pytest
import simpy

from natsim.sim.wheel import TimerWheel, fire_time, granularity

TICK = 0.004  # HZ=250


def test_a_timer_fires_at_its_levels_next_bucket_boundary() -> None:
    assert granularity(10) == 1 and granularity(250) == 8 and granularity(600) == 64
    assert fire_time(0.0, 1.0, TICK) == pytest.approx(1.024)      # 250 ticks -> bucket of 8 at 256
    assert fire_time(0.0, 0.1, TICK) == pytest.approx(0.104)      # level 0: one tick late
    assert fire_time(0.0015, 1.0, TICK) == pytest.approx(1.024)   # armed within the same tick


def test_a_buckets_timers_fire_newest_first() -> None:
    env = simpy.Environment()
    wheel = TimerWheel(env)
    log: list[tuple[str, float]] = []

    def timer(name: str, at: float) -> simpy.events.ProcessGenerator:
        yield env.timeout(at)
        yield wheel.timer(1.0, TICK)
        log.append((name, round(env.now, 6)))

    for name, at in (("a", 0.0), ("b", 0.001), ("c", 0.002)):
        env.process(timer(name, at))
    env.run()
    assert log == [("c", 1.024), ("b", 1.024), ("a", 1.024)]
