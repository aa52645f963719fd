"""A CGN population model: many subscribers, a day of flows, mapping table, memory, exhaustion, kills.

Each subscriber opens TCP flows as a Poisson process whose rate follows a day profile (a fraction of
*heavy* subscribers open many more). A flow is a burst, then ``K`` idle gaps (geometric, mean
``mean_gaps``) each followed by a packet (inbound with probability ``inbound_fraction``), then a
close. Gaps are Pareto (heavy-tailed).

The CGN is the same NAT the model runs packet by packet (:class:`~natsim.middleboxes.nat.model.Nat`
built from its :class:`~natsim.middleboxes.nat44.Nat44` config, the ``cgn`` preset's or any, its policy
table quantised to whole kernel seconds): a flow's mapping lives from its SYN until ``established``
after its last packet, or ``time_wait`` after its close; a gap of ``established`` or more finds it
expired (equality counts), and the next packet survives only when it is outbound, the CGN picks it up
and preserves ports (the re-mapping then lands on the same address and port, so the server never
notices); otherwise the flow is killed (a picked-up packet re-mapped to another port opens a mapping the
server's RST closes at once, ``close`` seconds). With ``ports_per_subscriber`` (``ct count``) a
subscriber's flows that are not yet closing are capped; a flow beyond the cap is refused.

:func:`simulate` evaluates all of that per shard of subscribers with vectorised numpy (subscribers are
independent: flows of different subscribers never share a server tuple), so shards can go to any
number of workers; :func:`natsim.run.population_replay.replay` sends the same flows packet by packet
through the NAT model, and the two must agree exactly (tests check it).
"""

from __future__ import annotations

import heapq
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from natsim.errors import ConfigError
from natsim.kernel_facts import CONNTRACK_ENTRY_BYTES
from natsim.middleboxes.conntrack.policy import Untracked
from natsim.middleboxes.nat44 import Nat44
from natsim.run.population_flows import SHARDS, Flows, Population, draw, shard_bounds, shard_seed
from natsim.units import TimeScale

__all__ = ["SHARDS", "Population", "PopulationResult", "Rules", "evaluate", "run_shard", "simulate"]


@dataclass(frozen=True)
class Rules:
    """What a flow's fate depends on, read from the CGN config as the NAT model reads it."""

    established: float
    time_wait: float
    close: float
    pickup: bool
    preserve: bool
    limit: int | None

    @classmethod
    def of(cls, cgn: Nat44) -> Rules:
        """The CGN's policy table as its kernel holds it (whole seconds), its pickup and port rules."""
        timeouts = cgn.policy().quantised(TimeScale(1.0))["tcp"]
        return cls(timeouts["established"], timeouts["time_wait"], timeouts["close"],
                   cgn.untracked_outbound is Untracked.PICKUP, cgn.port_preservation,
                   cgn.ports_per_subscriber)

    @property
    def outbound_survives(self) -> bool:
        """An outbound packet after expiry is re-mapped to the same address and port."""
        return self.pickup and self.preserve


@dataclass
class PopulationResult:
    """Totals and time series of one population run."""

    times: list[float]
    mappings: list[int]                  # mapping-table size at each sample
    totals: dict[str, int] = field(default_factory=dict)
    peak_ports: list[int] = field(default_factory=list)   # per subscriber with flows: most mappings at once
    events: int = 0
    wall: float = 0.0

    @property
    def peak_mappings(self) -> int:
        """The largest mapping table seen at a sample."""
        return max(self.mappings, default=0)

    @property
    def memory(self) -> int:
        """Kernel memory of the peak mapping table (bytes of conntrack entries)."""
        return self.peak_mappings * CONNTRACK_ENTRY_BYTES

    @property
    def killed_share(self) -> float:
        """Share of the accepted flows the idle timeout killed."""
        accepted = self.totals.get("flows", 0) - self.totals.get("exhausted", 0)
        return self.totals.get("killed", 0) / accepted if accepted else 0.0

    def ports_quantile(self, q: float) -> int:
        """The ``q`` quantile of subscribers' peak ports (mappings at once)."""
        return int(np.quantile(self.peak_ports, q)) if self.peak_ports else 0

    @property
    def events_per_second(self) -> float:
        """Simulated events per wall-clock second."""
        return self.events / self.wall if self.wall else 0.0

    def summary(self) -> str:
        """A few lines for humans."""
        t = self.totals
        return (f"{t['flows']} flows from {t['subscribers']} subscribers; peak mapping table "
                f"{self.peak_mappings} ({self.memory / 2**20:.1f} MiB of conntrack); ports per subscriber "
                f"p50 {self.ports_quantile(0.5)}, p99 {self.ports_quantile(0.99)}, max "
                f"{max(self.peak_ports, default=0)}; killed by the idle timeout {t['killed']} "
                f"({self.killed_share:.2%}), re-mapped and survived {t['remapped']}, refused for port "
                f"exhaustion {t['exhausted']} (subscribers affected {t['exhausted_subscribers']}); "
                f"{self.events} events in {self.wall:.2f} s = {self.events_per_second:,.0f} events/s")


# ---- the CGN's verdict on a shard's flows -----------------------------------------------------

@dataclass
class Fates:
    """Per flow and per gap, what the CGN does (arrays over a shard's flows and gaps)."""

    killed: np.ndarray          # per flow
    remapped: np.ndarray        # per flow: survived at least one expiry, not killed
    release: np.ndarray         # per flow: when its slot stops counting (closing, or expired)
    flow_of_gap: np.ndarray
    t_before: np.ndarray        # per gap: the packet before it
    t_after: np.ndarray         # per gap: the packet after it
    t_end: np.ndarray           # per flow: its last packet (the close, when not killed)
    ending: np.ndarray          # per gap: a mapping expires in it (re-mapped or killed after)
    remap: np.ndarray           # per gap: the packet after it is re-mapped to the same port
    remap_kill: np.ndarray      # per gap: re-mapped to another port, the server's RST closes it


def fates(flows: Flows, rules: Rules, forced: np.ndarray | None = None) -> Fates:
    """Decide every flow of a shard at once (numpy; the rules are the module docstring's).
    ``forced``: per flow, the gap whose re-mapping the subscriber's limit refused (it kills the flow)."""
    n_flows, n_gaps = len(flows.arrival), len(flows.gaps)
    flow_of_gap = np.repeat(np.arange(n_flows), flows.gap_count)
    total = np.concatenate([[0.0], np.cumsum(flows.gaps)])
    base = total[flows.gap_start]
    t_after = flows.arrival[flow_of_gap] + total[1:] - base[flow_of_gap]
    t_before = t_after - flows.gaps
    t_end = flows.arrival + total[flows.gap_start + flows.gap_count] - base
    expired = flows.gaps >= rules.established
    survives = ~flows.inbound & rules.outbound_survives
    index = np.arange(n_gaps)
    first_kill = np.full(n_flows, n_gaps)
    some = flows.gap_count > 0
    if n_gaps:
        first_kill[some] = np.minimum.reduceat(np.where(expired & ~survives, index, n_gaps),
                                               flows.gap_start[some])
    if forced is not None:
        first_kill = np.minimum(first_kill, forced)
    killed = first_kill < flows.gap_start + flows.gap_count
    kill_of_gap = first_kill[flow_of_gap]
    kill_here = index == kill_of_gap
    remap = expired & (index < kill_of_gap)          # before the gap that kills its flow, if any
    remapped = ~killed & (np.bincount(flow_of_gap[remap], minlength=n_flows) > 0)
    remap_kill = kill_here & ~flows.inbound & (rules.pickup and not rules.preserve)
    release = t_end.copy()
    release[killed] = t_before[first_kill[killed]] + rules.established
    return Fates(killed, remapped, release, flow_of_gap, t_before, t_after, t_end, remap | kill_here,
                 remap, remap_kill)


def _requests(flows: Flows, fate: Fates, rules: Rules, lo: int,
              hi: int) -> list[tuple[float, int, int, float]]:
    """The mappings flows ``lo..hi`` ask for, in time order: (when, flow, the gap after which it is a
    re-mapping or -1 for the SYN, when it stops counting against the limit)."""
    requests = []
    for k in range(lo, hi):
        first, count = int(flows.gap_start[k]), int(flows.gap_count[k])
        opened_at, opened_by, alive = float(flows.arrival[k]), -1, True
        for g in range(first, first + count):
            if not fate.ending[g]:
                continue
            requests.append((opened_at, k, opened_by, float(fate.t_before[g]) + rules.established))
            if fate.remap[g]:
                opened_at, opened_by = float(fate.t_after[g]), g
                continue
            if fate.remap_kill[g]:
                requests.append((float(fate.t_after[g]), k, g, float(fate.t_after[g])))
            alive = False
            break
        if alive:
            requests.append((opened_at, k, opened_by, float(fate.t_end[k])))
    requests.sort(key=lambda r: (r[0], r[1]))
    return requests


@dataclass
class Limited:
    """What ``ports_per_subscriber`` refused: SYNs (per flow), re-mappings (per flow: the gap, which
    kills it) and re-mappings to another port (per gap: no mapping is made)."""

    refused: np.ndarray
    forced: np.ndarray
    dropped: np.ndarray


def limit(flows: Flows, fate: Fates, rules: Rules) -> Limited:
    """Walk, one by one, the subscribers that could reach the limit (their flows, if none were refused,
    would hold ``limit`` mappings at once); everyone else is never refused."""
    n_flows, n_gaps = len(flows.arrival), len(flows.gaps)
    out = Limited(np.zeros(n_flows, dtype=bool), np.full(n_flows, n_gaps), np.zeros(n_gaps, dtype=bool))
    if rules.limit is None or not n_flows:
        return out
    firsts = np.flatnonzero(np.r_[True, flows.subscriber[1:] != flows.subscriber[:-1]])
    lasts = np.r_[firsts[1:], n_flows]
    many = np.repeat(lasts - firsts >= rules.limit, lasts - firsts)     # per flow: its subscriber's
    if not many.any():                                                  # flows could reach the limit
        return out
    gap_many = many[fate.flow_of_gap]
    remap = fate.remap & gap_many
    owners = np.concatenate([flows.subscriber[many], flows.subscriber[fate.flow_of_gap[remap]]])
    starts = np.concatenate([flows.arrival[many], fate.t_after[remap]])
    end_owners = np.concatenate([flows.subscriber[fate.flow_of_gap[fate.ending & gap_many]],
                                 flows.subscriber[~fate.killed & many]])
    ends = np.concatenate([fate.t_before[fate.ending & gap_many] + rules.established,
                           fate.t_end[~fate.killed & many]])
    peaks = np.zeros(len(firsts), dtype=np.int64)
    peaks[(lasts - firsts) >= rules.limit] = peak_per_subscriber(owners, starts, end_owners, ends)
    risky = peaks >= rules.limit
    for lo, hi in zip(firsts[risky].tolist(), lasts[risky].tolist(), strict=True):
        held: list[float] = []
        dead: set[int] = set()
        for at, k, g, release in _requests(flows, fate, rules, lo, hi):
            if k in dead:
                continue
            while held and held[0] <= at:
                heapq.heappop(held)
            if len(held) < rules.limit:
                heapq.heappush(held, release)
            elif g < 0:
                out.refused[k] = True
                dead.add(k)
            elif fate.remap[g]:
                out.forced[k] = g
                dead.add(k)
            else:
                out.dropped[g] = True
    return out


def peak_per_subscriber(start_owner: np.ndarray, starts: np.ndarray, end_owner: np.ndarray,
                        ends: np.ndarray) -> np.ndarray:
    """Per owner (in increasing order), the most of its intervals ``[start, end)`` that overlap; every
    owner has as many ends as starts. Events are ordered by owner, then time, an end before a start at
    a tie: one sort of a key packing (owner, the time's dense rank, start bit) in 63 bits."""
    if not len(start_owner):
        return np.zeros(0, dtype=np.int64)
    times = np.concatenate([ends, starts])
    by_time = np.argsort(times)
    ordered = times[by_time]
    rank = np.empty(len(times), dtype=np.int64)      # equal times, equal rank
    rank[by_time] = np.cumsum(np.r_[False, ordered[1:] != ordered[:-1]])
    who = np.concatenate([end_owner, start_owner]).astype(np.int64)
    is_start = np.r_[np.zeros(len(ends), dtype=np.int64), np.ones(len(starts), dtype=np.int64)]
    key = np.sort((who - who.min()) << 33 | rank << 1 | is_start)
    level = np.cumsum((key & 1) * 2 - 1)
    sorted_who = key >> 33
    firsts = np.flatnonzero(np.r_[True, sorted_who[1:] != sorted_who[:-1]])
    return np.maximum.reduceat(level, firsts)


def evaluate(p: Population, rules: Rules, flows: Flows) -> dict[str, Any]:
    """Totals, the mapping table at each sample and each subscriber's peak of one shard's flows."""
    first = fates(flows, rules)
    limited = limit(flows, first, rules)
    forced = (limited.forced < len(flows.gaps)).any()     # else the limit changed no flow's fate
    fate = fates(flows, rules, limited.forced) if forced else first
    ok = ~limited.refused
    gap_ok = ok[fate.flow_of_gap]
    remap, short = fate.remap & gap_ok, fate.remap_kill & gap_ok & ~limited.dropped
    ending, closed = fate.ending & gap_ok, ok & ~fate.killed
    starts = np.concatenate([flows.arrival[ok], fate.t_after[remap], fate.t_after[short]])
    ends = np.concatenate([fate.t_before[ending] + rules.established, fate.t_end[closed] + rules.time_wait,
                           fate.t_after[short] + rules.close])
    owner = flows.subscriber
    owners = np.concatenate([owner[ok], owner[fate.flow_of_gap[remap]], owner[fate.flow_of_gap[short]]])
    end_owners = np.concatenate([owner[fate.flow_of_gap[ending]], owner[closed],
                                 owner[fate.flow_of_gap[short]]])
    times = np.arange(0.0, p.duration + 1e-9, p.sample_every)
    mappings = (np.searchsorted(np.sort(starts), times, "right")
                - np.searchsorted(np.sort(ends), times, "right"))
    totals = {"flows": len(flows.arrival), "killed": int((fate.killed & ok).sum()),
              "remapped": int((fate.remapped & ok).sum()), "exhausted": int(limited.refused.sum()),
              "exhausted_subscribers": len(np.unique(owner[limited.refused]))}
    totals["completed"] = totals["flows"] - totals["exhausted"] - totals["killed"] - totals["remapped"]
    return {"totals": totals, "mappings": mappings, "times": times,
            "peaks": peak_per_subscriber(owners, starts, end_owners, ends),
            "events": len(flows.arrival) + len(flows.gaps) + 2 * len(starts)}


def run_shard(p: Population, cgn: Nat44, shard: int) -> dict[str, Any]:
    """Draw and evaluate one shard of subscribers."""
    first, count = shard_bounds(p, shard)
    result = evaluate(p, Rules.of(cgn), draw(p, first, count, shard_seed(p, shard)))
    result["totals"]["subscribers"] = count
    return result


def _shard_job(args: tuple[Population, Nat44, int]) -> dict[str, Any]:
    return run_shard(*args)


def _run_shards(p: Population, cgn: Nat44, workers: int, scheduler: str | None) -> list[dict[str, Any]]:
    """Every shard's part, in shard order: here, on a local process pool, or on a Dask cluster."""
    jobs = [(p, cgn, k) for k in range(SHARDS)]
    if scheduler is not None:
        from natsim.run.cluster import connect
        with connect(scheduler, workers=workers) as client:
            futures = client.map(run_shard, [p] * SHARDS, [cgn] * SHARDS, range(SHARDS), pure=False)
            parts: list[dict[str, Any]] = client.gather(futures)
            return parts
    if workers == 1:
        return [run_shard(*job) for job in jobs]
    with ProcessPoolExecutor(max_workers=min(workers, os.cpu_count() or 1)) as pool:
        return list(pool.map(_shard_job, jobs))


def simulate(cgn: Nat44, population: Population | None = None, *, workers: int = 1,
             scheduler: str | None = None) -> PopulationResult:
    """Run the population model over ``workers`` processes, or on the Dask cluster at ``scheduler``
    (``tcp://HOST:8786``; ``local``: a cluster of ``workers`` processes on this machine, on loopback).
    The result does not depend on either: its :data:`SHARDS` shards are fixed and seeded."""
    p = population or Population()
    p.check(cgn)
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    started = time.perf_counter()
    parts = _run_shards(p, cgn, workers, scheduler)
    totals: dict[str, int] = {}
    for part in parts:
        for key, value in part["totals"].items():
            totals[key] = totals.get(key, 0) + int(value)
    mappings = sum(part["mappings"] for part in parts)
    return PopulationResult(times=parts[0]["times"].tolist(), mappings=[int(x) for x in mappings],
                            totals=totals, peak_ports=[int(x) for part in parts for x in part["peaks"]],
                            events=sum(part["events"] for part in parts),
                            wall=time.perf_counter() - started)
