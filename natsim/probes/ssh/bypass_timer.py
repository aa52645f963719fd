"""``ssh-bypass-timer``: how long an intercepting firewall lets a failed tuple pass unproxied.

As the incident's script did: a failed (intercepted) login starts the clock; logins are then tried at
offsets that grow by ``step`` until one is intercepted again, and the bracket is bisected down to
``resolution``. A bypassed login does not restart the clock; an intercepted one does (the firewall
draws a new duration), so every observation is an offset from the latest interception. All
durations are real-world; the probe sleeps duration / time_scale.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from natsim.errors import ProbeError
from natsim.probes.ssh.login import LoginOutcome, SshLogin, login_once
from natsim.probes.ssh.options import SshBypassTimerOptions, schedule_problem
from natsim.report.schema import ConnectionResult, Estimate, ProbeResult, Verdict
from natsim.units import TimeScale

KIND = SshBypassTimerOptions.kind


@dataclass(frozen=True)
class TimerPlan:
    """Schedule of the measurement (real-world seconds)."""

    step: float = 600.0
    resolution: float = 30.0
    max_wait: float = 4 * 3600.0

    def __post_init__(self) -> None:
        problem = schedule_problem(self.step, self.resolution, self.max_wait)
        if problem is not None:
            raise ProbeError(f"ssh-bypass-timer: {problem}")


def intercepted(outcome: LoginOutcome) -> bool:
    """An attempt the firewall cut (EOF/reset during the handshake)."""
    return outcome.verdict in (Verdict.EOF, Verdict.RESET)


async def bypass_timer(host: str, port: int, *, login: SshLogin | None = None, plan: TimerPlan | None = None,
                       time_scale: TimeScale | None = None, name: str | None = None,
                       node: str | None = None,
                       attempt_fn: Callable[[], Awaitable[LoginOutcome]] | None = None,
                       on_result: Callable[[ConnectionResult], None] | None = None) -> ProbeResult:
    """Measure the bypass duration; ``estimate`` is the bracket (longest bypassed, shortest cut).

    ``attempt_fn`` replaces the real login (tests drive the schedule against a fake firewall);
    ``on_result`` is called with each attempt's row as soon as it has its verdict.
    """
    login = login or SshLogin()
    log_in = attempt_fn or (lambda: login_once(host, port, login))
    plan = plan or TimerPlan()
    scale = time_scale or TimeScale(1.0)
    result = ProbeResult(name=name or KIND, kind=KIND, target=f"{host}:{port}", node=node)
    attempts = _Attempts(log_in, scale, result, time.monotonic(), on_result)
    clock = await _first_interception(attempts, plan, host, port)
    lower, upper, clock = await _grow(attempts, plan, clock)
    lower, upper = await _bisect(attempts, plan, lower, upper, clock)
    result.estimate = Estimate(lower=round(lower, 3), upper=round(upper, 3) if upper is not None else None)
    result.complete = upper is not None
    result.extra = {"step": plan.step, "resolution": plan.resolution, "client": login.client,
                    "time_scale": scale.factor,
                    "bracket": [result.estimate.lower, result.estimate.upper]}
    return result


@dataclass
class _Attempts:
    """Timed logins, each recorded as a connection of ``result``."""

    log_in: Callable[[], Awaitable[LoginOutcome]]
    scale: TimeScale
    result: ProbeResult
    started: float
    on_result: Callable[[ConnectionResult], None] | None = None

    async def attempt(self, offset_from: float | None) -> tuple[LoginOutcome, float, float]:
        """Log in once: (outcome, real offset from ``offset_from``, lab time when it ended)."""
        scale, result = self.scale, self.result
        begin = time.monotonic()
        outcome = await self.log_in()
        offset = scale.to_real(begin - offset_from) if offset_from is not None else 0.0
        cut = intercepted(outcome)
        if not cut and outcome.verdict is not Verdict.OK:
            raise ProbeError(f"ssh-bypass-timer: attempt failed in an unexpected way: {outcome.detail()}")
        result.connections.append(ConnectionResult(
            index=len(result.connections), idle=round(offset, 3), verdict=outcome.verdict,
            how="intercepted" if cut else "bypassed", elapsed=round(scale.to_real(begin - self.started), 3),
            detail=outcome.detail(), local=outcome.local))
        if self.on_result is not None:
            self.on_result(result.connections[-1])
        return outcome, offset, time.monotonic()

    async def at(self, clock: float, offset: float) -> None:
        """Sleep until ``offset`` real seconds after the lab time ``clock``."""
        delay = clock + self.scale.to_lab(offset) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


async def _first_interception(attempts: _Attempts, plan: TimerPlan, host: str, port: int) -> float:
    """Start the clock: log in every ``step`` until one is intercepted; the lab time it ended."""
    outcome, _, clock = await attempts.attempt(None)
    waited = 0.0
    while not intercepted(outcome):
        waited += plan.step
        if waited > plan.max_wait:
            raise ProbeError(f"{host}:{port} was never intercepted within {plan.max_wait:g} s")
        await asyncio.sleep(attempts.scale.to_lab(plan.step))
        outcome, _, clock = await attempts.attempt(None)
    return clock


async def _grow(attempts: _Attempts, plan: TimerPlan, clock: float) -> tuple[float, float | None, float]:
    """Offsets growing by ``step`` until one is intercepted: (lower, upper or None, clock)."""
    lower, upper = 0.0, None
    offset = plan.step
    while upper is None:
        if offset > plan.max_wait:
            break
        await attempts.at(clock, offset)
        outcome, real_offset, end = await attempts.attempt(clock)
        if intercepted(outcome):
            upper, clock = real_offset, end
        else:
            lower = max(lower, real_offset)
            offset += plan.step
    return lower, upper, clock


async def _bisect(attempts: _Attempts, plan: TimerPlan, lower: float, upper: float | None,
                  clock: float) -> tuple[float, float | None]:
    """Bisect the bracket down to ``resolution``: (lower, upper)."""
    while upper is not None and upper - lower > plan.resolution:
        mid = (lower + upper) / 2
        await attempts.at(clock, mid)
        outcome, real_offset, end = await attempts.attempt(clock)
        if intercepted(outcome):
            upper, clock = min(upper, real_offset), end
        else:
            lower = max(lower, real_offset)
    return lower, upper
