"""The subscribers of the CGN population model and their flows (who uses the CGN and how).

:func:`draw` gives a shard of subscribers' flows, deterministic for its seed: arrivals follow a day
profile, each flow has geometric many Pareto gaps, each gap followed by an inbound or outbound packet.
The CGN's verdict on them is :mod:`natsim.run.population`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import numpy as np

from natsim.errors import ConfigError
from natsim.middleboxes.nat44 import Nat44

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
    sample_every: float = 300.0
    seed: int = 0

    def check(self, cgn: Nat44) -> None:
        """Raise :class:`ConfigError` for values outside their domain (or more subscribers than the
        CGN's subscriber prefix holds)."""
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
        if self.mean_gaps < 0 or self.gap_max < self.gap_min:
            raise ConfigError("population: mean_gaps must be >= 0 and gap_max >= gap_min")
        if self.duration / self.sample_every > 1_000_000:
            raise ConfigError("population: too many samples; raise sample_every")
        room = ipaddress.ip_network(cgn.inside, strict=False).num_addresses - 2
        if self.subscribers > room:
            raise ConfigError(f"population.subscribers: {self.subscribers} do not fit in the CGN's "
                              f"subscribers {cgn.inside} ({room} addresses)")


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


def shard_bounds(p: Population, shard: int) -> tuple[int, int]:
    """(first subscriber, count) of ``shard``."""
    per = -(-p.subscribers // SHARDS)
    first = shard * per
    return first, max(0, min(per, p.subscribers - first))


def shard_seed(p: Population, shard: int) -> int:
    """The seed of ``shard``'s draws."""
    return int(np.random.SeedSequence([p.seed, shard]).generate_state(1)[0])


def _sorted_uniforms(rng: np.random.Generator, per_sub: np.ndarray) -> np.ndarray:
    """Per subscriber, ``per_sub`` uniforms on [0, 1) in increasing order, subscriber after subscriber,
    without a sort: order statistics from exponential spacings (n + 1 of them per subscriber, each
    partial sum over their total)."""
    segment = per_sub + 1
    sums = np.cumsum(rng.standard_exponential(int(segment.sum())))
    last = np.cumsum(segment) - 1
    base = np.concatenate([[0.0], sums[last[:-1]]])[:len(last)]
    keep = np.ones(len(sums), dtype=bool)
    keep[last] = False
    local = np.repeat(np.arange(len(per_sub)), per_sub)
    return np.asarray((sums[keep] - base[local]) / (sums[last] - base)[local])


def _arrival_times(uniforms: np.ndarray, p: Population) -> np.ndarray:
    """Uniforms mapped through the day profile's distribution (monotone: their order is kept)."""
    grid = np.linspace(0.0, p.duration, 2049)
    rate = 1.0 + p.day_swing * np.sin(2 * np.pi * (grid / 86400.0 - 0.5))
    cdf = np.concatenate([[0.0], np.cumsum((rate[1:] + rate[:-1]) / 2)])
    cdf /= cdf[-1]
    return np.asarray(np.interp(uniforms, cdf, grid))


def draw(p: Population, first: int, count: int, seed: int) -> Flows:
    """Flows of subscribers ``first .. first+count-1`` (deterministic for ``seed``), by subscriber,
    then arrival."""
    rng = np.random.default_rng(seed)
    heavy = rng.random(count) < p.heavy_fraction
    mean = p.flows_per_hour * p.duration / 3600.0 * np.where(heavy, p.heavy_factor, 1.0)
    per_sub = rng.poisson(mean)
    total = int(per_sub.sum())
    subscriber = np.repeat(np.arange(count), per_sub) + first
    arrival = _arrival_times(_sorted_uniforms(rng, per_sub), p)
    gap_count = rng.geometric(1.0 / (p.mean_gaps + 1.0), total) - 1
    gap_start = np.concatenate([[0], np.cumsum(gap_count)[:-1]]).astype(np.int64)
    n_gaps = int(gap_count.sum())
    gaps = np.minimum(p.gap_min * (1.0 + rng.pareto(p.gap_alpha, n_gaps)), p.gap_max)
    inbound = rng.random(n_gaps) < p.inbound_fraction
    return Flows(subscriber, arrival, gap_start, gap_count, gaps, inbound)
