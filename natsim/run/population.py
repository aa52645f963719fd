"""A CGN population model: many subscribers, a day of flows, mapping-table size, exhaustion, kills.

Each subscriber opens TCP flows as a Poisson process whose rate follows a day profile (a fraction of
*heavy* subscribers open many more). A flow is a burst, then ``K`` idle gaps (geometric, mean
``mean_gaps``) each followed by a burst, then a close. Gaps are Pareto (heavy-tailed). The CGN
(from a :class:`~natsim.middleboxes.cgn.Cgn` config) keeps a mapping per flow from its first packet
until ``idle_timeout`` after the last one, or ``transitory_timeout`` after the close. A gap of
``idle_timeout`` or more finds the mapping expired (equality counts): the next packet is outbound
with probability ``1 - inbound_fraction``. It survives only when outbound, the CGN picks up
(``untracked_outbound=pickup``), preserves ports and the old port is out of its hold-down again
(else the re-mapped port differs and the server answers RST); otherwise the flow is killed.
A subscriber holds at most ``ports_per_subscriber`` ports (mappings plus ports in hold-down, RFC
6888); a flow that finds none is refused (port exhaustion).

The model is a discrete-event model evaluated per subscriber with vectorised draws (numpy) and an
explicit port heap only for subscribers that could exhaust; :func:`reference` replays the same
flows one event at a time in simpy and must agree exactly (tests check it).
"""

from __future__ import annotations

import heapq
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from natsim.errors import ConfigError
from natsim.middleboxes.cgn import Cgn
from natsim.middleboxes.conntrack.policy import Untracked
from natsim.middleboxes.nat.render import pool_range

#: Shards are fixed so the result does not depend on the number of workers.
SHARDS = 16


@dataclass(frozen=True)
class Population:
    """Who uses the CGN and how (all durations real-world seconds)."""

    subscribers: int = 100_000
    duration: float = 86400.0
    flows_per_hour: float = 1.0          # mean per ordinary subscriber
    day_swing: float = 0.6               # rate x (1 + swing * sin): quiet at 06:00, busy at 18:00
    heavy_fraction: float = 0.01
    heavy_factor: float = 50.0
    mean_gaps: float = 4.0
    gap_alpha: float = 1.1               # Pareto shape (heavy tail below 2)
    gap_min: float = 20.0                # Pareto scale
    gap_max: float = 86400.0
    inbound_fraction: float = 0.5
    ports_per_subscriber: int | None = None   # default: the pool's ports shared out, capped by the range
    hold_down: float = 120.0             # RFC 6888 REQ-8
    sample_every: float = 300.0
    seed: int = 0

    def check(self) -> None:
        """Raise :class:`ConfigError` for values outside their domain."""
        positive = {"subscribers": self.subscribers, "duration": self.duration,
                    "flows_per_hour": self.flows_per_hour, "gap_alpha": self.gap_alpha,
                    "gap_min": self.gap_min, "sample_every": self.sample_every,
                    "heavy_factor": self.heavy_factor}
        for name, value in positive.items():
            if not value > 0:
                raise ConfigError(f"population.{name} must be greater than zero, got {value!r}")
        for name, value in {"day_swing": self.day_swing, "heavy_fraction": self.heavy_fraction,
                            "inbound_fraction": self.inbound_fraction}.items():
            if not 0 <= value <= 1:
                raise ConfigError(f"population.{name} must be within 0..1, got {value!r}")
        if self.mean_gaps < 0 or self.hold_down < 0 or self.gap_max < self.gap_min:
            raise ConfigError("population: mean_gaps and hold_down must be >= 0, gap_max >= gap_min")
        if self.ports_per_subscriber is not None and self.ports_per_subscriber < 1:
            raise ConfigError("population.ports_per_subscriber must be >= 1, "
                              f"got {self.ports_per_subscriber}")
        if self.duration / self.sample_every > 1_000_000:
            raise ConfigError("population: too many samples; raise sample_every")


def port_limit(cgn: Cgn, population: Population) -> int:
    """Ports per subscriber: the given limit, else the pool's ports shared out (at least 1)."""
    if population.ports_per_subscriber is not None:
        return population.ports_per_subscriber
    first, last = pool_range(cgn.pool)
    import ipaddress
    addresses = int(ipaddress.ip_address(last)) - int(ipaddress.ip_address(first)) + 1
    per_address = cgn.port_range[1] - cgn.port_range[0] + 1
    return max(1, min(per_address, addresses * per_address // population.subscribers))


@dataclass
class PopulationResult:
    """Totals and time series of one population run."""

    times: list[float]
    mappings: list[int]                  # mapping-table size at each sample
    held: list[int]                      # ports in hold-down at each sample
    totals: dict[str, int] = field(default_factory=dict)
    events: int = 0
    wall: float = 0.0
    port_limit: int = 0

    @property
    def events_per_second(self) -> float:
        """Simulated events per wall-clock second."""
        return self.events / self.wall if self.wall else 0.0

    def summary(self) -> str:
        """A few lines for humans."""
        t = self.totals
        peak = max(self.mappings) if self.mappings else 0
        return (f"{t['flows']} flows from {t['subscribers']} subscribers; peak mapping table {peak}; "
                f"killed by idle timeout {t['killed']}, re-mapped and survived {t['remapped']}, "
                f"refused for port exhaustion {t['exhausted']} (subscribers affected "
                f"{t['exhausted_subscribers']}, limit {self.port_limit} ports each); "
                f"{self.events} events in {self.wall:.2f} s = {self.events_per_second:,.0f} events/s")


# ---- drawing flows -----------------------------------------------------------------------------

@dataclass
class Flows:
    """The flows of one shard, sorted by (subscriber, arrival)."""

    subscriber: np.ndarray
    arrival: np.ndarray
    gap_start: np.ndarray      # index of each flow's first gap in ``gaps``
    gap_count: np.ndarray
    gaps: np.ndarray
    inbound: np.ndarray        # per gap: is the packet after it inbound?


def _arrival_times(rng: np.random.Generator, n: int, p: Population) -> np.ndarray:
    grid = np.linspace(0.0, p.duration, 2049)
    rate = 1.0 + p.day_swing * np.sin(2 * np.pi * (grid / 86400.0 - 0.5))
    cdf = np.concatenate([[0.0], np.cumsum((rate[1:] + rate[:-1]) / 2)])
    cdf /= cdf[-1]
    return np.asarray(np.interp(rng.random(n), cdf, grid))


def draw(p: Population, first: int, count: int, seed: int) -> Flows:
    """Flows of subscribers ``first .. first+count-1`` (deterministic for ``seed``)."""
    rng = np.random.default_rng(seed)
    heavy = rng.random(count) < p.heavy_fraction
    mean = p.flows_per_hour * p.duration / 3600.0 * np.where(heavy, p.heavy_factor, 1.0)
    per_sub = rng.poisson(mean)
    total = int(per_sub.sum())
    subscriber = np.repeat(np.arange(first, first + count), per_sub)
    arrival = _arrival_times(rng, total, p)
    order = np.lexsort((arrival, subscriber))
    subscriber, arrival = subscriber[order], arrival[order]
    gap_count = rng.geometric(1.0 / (p.mean_gaps + 1.0), total) - 1
    gap_start = np.concatenate([[0], np.cumsum(gap_count)[:-1]]).astype(np.int64)
    n_gaps = int(gap_count.sum())
    gaps = np.minimum(p.gap_min * (1.0 + rng.pareto(p.gap_alpha, n_gaps)), p.gap_max)
    inbound = rng.random(n_gaps) < p.inbound_fraction
    return Flows(subscriber, arrival, gap_start, gap_count, gaps, inbound)


# ---- evaluating one flow -----------------------------------------------------------------------

@dataclass(frozen=True)
class Cgnish:
    """What the population model needs from the CGN config."""

    timeout: float
    transitory: float
    pickup: bool
    preserve: bool
    hold_down: float

    @classmethod
    def of(cls, cgn: Cgn, p: Population) -> Cgnish:
        """From the config and the population's hold-down."""
        return cls(cgn.idle_timeout, cgn.transitory_timeout or 120.0,
                   cgn.untracked_outbound is Untracked.PICKUP, cgn.port_preservation, p.hold_down)


def flow_outcome(start: float, gaps: Sequence[float], inbound: Sequence[bool], c: Cgnish
                 ) -> tuple[str, list[tuple[float, float]], float]:
    """(``completed``/``killed``/``remapped``, mapping intervals, when its port slot is free again)."""
    intervals: list[tuple[float, float]] = []
    begin = last = start
    outcome = "completed"
    for gap, inb in zip(gaps, inbound, strict=True):
        if gap >= c.timeout:
            intervals.append((begin, last + c.timeout))
            survives = (not inb and c.pickup and c.preserve and gap - c.timeout >= c.hold_down)
            if not survives:
                return "killed", intervals, last + c.timeout + c.hold_down
            outcome = "remapped"
            begin = last + gap
        last += gap
    intervals.append((begin, last + c.transitory))
    return outcome, intervals, last + c.transitory + c.hold_down


def run_shard(p: Population, cgn: Cgn, shard: int) -> dict[str, Any]:
    """Evaluate one shard of subscribers; counts and per-sample table sizes."""
    per = -(-p.subscribers // SHARDS)
    first = shard * per
    count = max(0, min(per, p.subscribers - first))
    seed = int(np.random.SeedSequence([p.seed, shard]).generate_state(1)[0])
    flows = draw(p, first, count, seed)
    c = Cgnish.of(cgn, p)
    limit = port_limit(cgn, p)
    starts: list[float] = []
    ends: list[float] = []
    held_from: list[float] = []
    totals = {"flows": 0, "completed": 0, "killed": 0, "remapped": 0, "exhausted": 0,
              "exhausted_subscribers": 0, "subscribers": count}
    gaps, inbound = flows.gaps.tolist(), flows.inbound.tolist()
    arrivals = flows.arrival.tolist()
    g0, gn = flows.gap_start.tolist(), flows.gap_count.tolist()
    per_sub = np.bincount(flows.subscriber - first, minlength=count).tolist() if count else []
    i = 0
    for n in per_sub:
        slots: list[float] = []        # release times of this subscriber's ports (heap)
        refused = 0
        check = n > limit
        for k in range(i, i + n):
            t = arrivals[k]
            if check:
                while slots and slots[0] <= t:
                    heapq.heappop(slots)
                if len(slots) >= limit:
                    refused += 1
                    continue
            outcome, intervals, free_at = flow_outcome(t, gaps[g0[k]:g0[k] + gn[k]],
                                                       inbound[g0[k]:g0[k] + gn[k]], c)
            if check:
                heapq.heappush(slots, free_at)
            totals[outcome] += 1
            for a, b in intervals:
                starts.append(a)
                ends.append(b)
                held_from.append(b)
        totals["exhausted"] += refused
        totals["exhausted_subscribers"] += refused > 0
        i += n
    totals["flows"] = len(arrivals)
    times = np.arange(0.0, p.duration + 1e-9, p.sample_every)
    s, e, h = np.sort(starts), np.sort(ends), np.sort(np.asarray(held_from) + c.hold_down)
    mappings = np.searchsorted(s, times, "right") - np.searchsorted(e, times, "right")
    held = np.searchsorted(e, times, "right") - np.searchsorted(h, times, "right")
    events = len(arrivals) + len(gaps) + 2 * len(starts)
    return {"totals": totals, "mappings": mappings, "held": held, "events": events,
            "times": times}


def _shard_job(args: tuple[Population, Cgn, int]) -> dict[str, Any]:
    return run_shard(*args)


def simulate(cgn: Cgn, population: Population | None = None, *, workers: int = 1) -> PopulationResult:
    """Run the population model over ``workers`` processes (the result does not depend on them)."""
    p = population or Population()
    p.check()
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    started = time.perf_counter()
    jobs = [(p, cgn, k) for k in range(SHARDS)]
    if workers == 1:
        parts = [run_shard(*job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=min(workers, os.cpu_count() or 1)) as pool:
            parts = list(pool.map(_shard_job, jobs))
    totals: dict[str, int] = {}
    for part in parts:
        for key, value in part["totals"].items():
            totals[key] = totals.get(key, 0) + int(value)
    mappings = sum(part["mappings"] for part in parts)
    held = sum(part["held"] for part in parts)
    return PopulationResult(times=parts[0]["times"].tolist(), mappings=[int(x) for x in mappings],
                            held=[int(x) for x in held], totals=totals,
                            events=sum(part["events"] for part in parts),
                            wall=time.perf_counter() - started, port_limit=port_limit(cgn, p))


def reference(cgn: Cgn, population: Population, shard: int = 0) -> dict[str, int]:
    """The same shard replayed event by event in simpy (slow; for cross-checking small runs)."""
    import simpy

    p = population
    per = -(-p.subscribers // SHARDS)
    first = shard * per
    count = max(0, min(per, p.subscribers - first))
    flows = draw(p, first, count, int(np.random.SeedSequence([p.seed, shard]).generate_state(1)[0]))
    c = Cgnish.of(cgn, p)
    limit = port_limit(cgn, p)
    env = simpy.Environment()
    ports = {s: simpy.Container(env, init=limit, capacity=limit) for s in range(first, first + count)}
    totals = {"completed": 0, "killed": 0, "remapped": 0, "exhausted": 0}

    def flow(k: int) -> Any:
        yield env.timeout(float(flows.arrival[k]))
        pool = ports[int(flows.subscriber[k])]
        if pool.level < 1:
            totals["exhausted"] += 1
            return
        yield pool.get(1)
        outcome = "completed"
        lo, n = int(flows.gap_start[k]), int(flows.gap_count[k])
        for gap, inb in zip(flows.gaps[lo:lo + n], flows.inbound[lo:lo + n], strict=True):
            if gap >= c.timeout:
                yield env.timeout(c.timeout)                  # the mapping expires
                if not (not inb and c.pickup and c.preserve and gap - c.timeout >= c.hold_down):
                    outcome = "killed"
                    yield env.timeout(c.hold_down)
                    break
                outcome = "remapped"
                yield env.timeout(float(gap) - c.timeout)
            else:
                yield env.timeout(float(gap))
        else:
            yield env.timeout(c.transitory + c.hold_down)
        totals[outcome] += 1
        yield pool.put(1)

    for k in range(len(flows.arrival)):
        env.process(flow(k))
    env.run()
    return totals


def with_seed(population: Population, seed: int) -> Population:
    """``population`` with another seed."""
    return replace(population, seed=seed)
