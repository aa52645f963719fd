"""ssh-bypass-timer's schedule against a fake firewall (no sockets): the bracket lands in the range."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from natsim.errors import ProbeError
from natsim.probes.ssh.bypass_timer import TimerPlan, bypass_timer
from natsim.probes.ssh.login import LoginOutcome
from natsim.report.schema import Verdict
from natsim.units import TimeScale

SCALE = TimeScale(3600.0)   # 1 h per lab second: 1 ms of scheduling jitter is 3.6 s real


class FakeFirewall:
    """Intercepts unless the tuple is bypassed; an interception bypasses it for a drawn duration."""

    def __init__(self, low: float, high: float, seed: int = 1) -> None:
        self.low, self.high = low, high
        self.rng = random.Random(seed)
        self.until = 0.0
        self.draws: list[float] = []

    async def login(self) -> LoginOutcome:
        await asyncio.sleep(0)
        now = time.monotonic()
        if now < self.until:
            return LoginOutcome(Verdict.OK)
        duration = self.rng.uniform(self.low, self.high)
        self.draws.append(duration)
        self.until = now + SCALE.to_lab(duration)
        return LoginOutcome(Verdict.EOF, "ssh: handshake failed: EOF")


def test_bracket_of_the_incident_range() -> None:
    firewall = FakeFirewall(3720, 3840)
    plan = TimerPlan(step=600, resolution=60)
    result = asyncio.run(bypass_timer("h", 1, plan=plan, time_scale=SCALE, attempt_fn=firewall.login))
    assert result.estimate is not None and result.complete
    lower, upper = result.estimate.lower, result.estimate.upper
    assert lower is not None and upper is not None
    slack = 20.0  # a few ms of event-loop jitter at 3600x
    assert 3720 - plan.resolution - slack <= lower < upper <= 3840 + plan.resolution + slack
    assert upper - lower <= plan.resolution
    assert result.connections[0].verdict is Verdict.EOF
    assert {c.how for c in result.connections[1:]} == {"bypassed", "intercepted"}


def test_no_expiry_seen_is_reported_incomplete() -> None:
    firewall = FakeFirewall(7200, 7200)
    plan = TimerPlan(step=1200, resolution=60, max_wait=3600)
    result = asyncio.run(bypass_timer("h", 1, plan=plan, time_scale=SCALE, attempt_fn=firewall.login))
    assert result.estimate is not None and result.estimate.upper is None
    assert not result.complete


def test_unexpected_failure_stops_the_probe() -> None:
    async def refused() -> LoginOutcome:
        return LoginOutcome(Verdict.ERROR, "ssh: unable to authenticate")
    with pytest.raises(ProbeError):
        asyncio.run(bypass_timer("h", 1, time_scale=SCALE, attempt_fn=refused))
