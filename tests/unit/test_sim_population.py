"""The CGN population model: per-flow rules, exact agreement with the NAT model replaying the same flows,
determinism, outputs, domains."""

from __future__ import annotations

import numpy as np
import pytest

from natsim.errors import ConfigError
from natsim.middleboxes.conntrack.policy import Untracked
from natsim.middleboxes.nat44 import Nat44
from natsim.middleboxes.presets import device
from natsim.run.population import SHARDS, Population, Rules, evaluate, run_shard, simulate
from natsim.run.population_flows import Flows
from natsim.run.population_replay import replay

#: 100 s idle timeout, 10 s time_wait and close, outbound pickup with port preservation.
C = Rules(established=100.0, time_wait=10.0, close=10.0, pickup=True, preserve=True, limit=None)
ONE = Population(subscribers=1, duration=400.0, sample_every=1.0)


def flows(*specs: tuple[float, list[float], list[bool]], subscriber: int = 0) -> Flows:
    """Flows of one subscriber: (arrival, gaps, inbound after each gap)."""
    counts = [len(g) for _, g, _ in specs]
    return Flows(subscriber=np.full(len(specs), subscriber), arrival=np.array([a for a, _, _ in specs]),
                 gap_start=np.array(np.cumsum([0, *counts[:-1]]), dtype=np.int64),
                 gap_count=np.array(counts, dtype=np.int64),
                 gaps=np.array([g for _, gs, _ in specs for g in gs], dtype=float),
                 inbound=np.array([i for _, _, ins in specs for i in ins], dtype=bool))


def mapped_at(result: dict[str, object], *times: float) -> list[int]:
    series = result["mappings"]
    assert isinstance(series, np.ndarray)
    return [int(series[int(t)]) for t in times]


def test_flow_without_long_gap_completes() -> None:
    result = evaluate(ONE, C, flows((5.0, [99.0, 1.0], [False, True])))
    assert result["totals"] == {"flows": 1, "killed": 0, "remapped": 0, "exhausted": 0,
                                "exhausted_subscribers": 0, "completed": 1}
    # mapped from 5 s to the close at 105 s plus time_wait 10 s
    assert mapped_at(result, 4, 5, 114, 115) == [0, 1, 1, 0]


def test_gap_equal_to_the_timeout_kills_an_inbound_packet() -> None:
    result = evaluate(ONE, C, flows((0.0, [100.0], [True])))
    assert result["totals"]["killed"] == 1
    assert mapped_at(result, 99, 100) == [1, 0]    # expired at equality


def test_outbound_pickup_with_preserved_ports_survives_at_once() -> None:
    # netfilter has no hold-down: the expired mapping's port is free again, and the re-mapping takes it
    result = evaluate(ONE, C, flows((0.0, [120.0, 5.0], [False, False])))
    assert result["totals"]["remapped"] == 1
    assert mapped_at(result, 99, 100, 119, 120, 134, 135) == [1, 0, 0, 1, 1, 0]
    no_pickup = Rules(100.0, 10.0, 10.0, pickup=False, preserve=True, limit=None)
    assert evaluate(ONE, no_pickup, flows((0.0, [500.0], [False])))["totals"]["killed"] == 1
    random_ports = Rules(100.0, 10.0, 10.0, pickup=True, preserve=False, limit=None)
    killed = evaluate(ONE, random_ports, flows((0.0, [150.0], [False])))
    # re-mapped to another port: the server's RST closes the new mapping (close timeout)
    assert killed["totals"]["killed"] == 1 and mapped_at(killed, 149, 150, 159, 160) == [0, 1, 1, 0]


def test_the_limit_counts_flows_until_they_close_or_expire() -> None:
    limited = Rules(100.0, 10.0, 10.0, pickup=True, preserve=True, limit=2)
    result = evaluate(ONE, limited, flows((0.0, [50.0], [False]), (1.0, [200.0, 1.0], [False, False]),
                                          (2.0, [], []), (50.0, [], []), (150.0, [], [])))
    # flow 2 finds flows 0 and 1 open: refused. Flow 3 comes as flow 0 closes (time_wait does not
    # count); flow 1's mapping expires at 101 s and its re-mapping at 201 s finds room again.
    assert result["totals"]["exhausted"] == 1 and result["totals"]["exhausted_subscribers"] == 1
    assert result["totals"]["remapped"] == 1
    assert list(result["peaks"]) == [3]      # flows 0, 1 and 3 (in time_wait) hold mappings at 50 s


@pytest.mark.parametrize("cgn", [
    device("cgn", idle_timeout=3600.0, untracked_outbound=Untracked.PICKUP),
    device("cgn", idle_timeout=1800.0),
    device("cgn", idle_timeout=600.0, untracked_outbound=Untracked.PICKUP, port_preservation=False),
    device("cgn", idle_timeout=600.0, untracked_outbound=Untracked.PICKUP, ports_per_subscriber=4),
    device("cgn", idle_timeout=600.0, untracked_outbound=Untracked.PICKUP, port_preservation=False,
        ports_per_subscriber=3),
])
def test_vectorised_model_agrees_with_the_nat_model_replay(cgn: Nat44) -> None:
    population = Population(subscribers=SHARDS * 10, heavy_fraction=0.1, seed=3)
    for shard in (0, 5):
        fast, slow = run_shard(population, cgn, shard), replay(cgn, population, shard)
        assert {k: fast["totals"][k] for k in slow["totals"]} == slow["totals"]
        assert list(fast["mappings"]) == slow["mappings"]     # the table at every sample
        assert fast["totals"]["killed"] > 0
        if cgn.ports_per_subscriber:
            assert fast["totals"]["exhausted"] > 0


def test_independent_of_workers_and_seeded() -> None:
    cgn = device("cgn", idle_timeout=3600.0, ports_per_subscriber=8)
    population = Population(subscribers=2000)
    one, two = simulate(cgn, population), simulate(cgn, population, workers=2)
    assert (one.totals, one.mappings, one.peak_ports) == (two.totals, two.mappings, two.peak_ports)
    other = simulate(cgn, Population(subscribers=2000, seed=1))
    assert other.totals != one.totals
    assert one.times[:3] == [0.0, 300.0, 600.0] and len(one.times) == 289
    assert max(one.mappings) > 0 and one.mappings[0] == 0
    assert one.events > one.totals["flows"]


def test_outputs_peak_memory_ports_and_killed_share() -> None:
    result = simulate(device("cgn", idle_timeout=1800.0), Population(subscribers=1000))
    assert result.peak_mappings == max(result.mappings)
    assert result.memory == result.peak_mappings * 384          # nf_conntrack slab + extensions
    accepted = result.totals["flows"] - result.totals["exhausted"]
    assert result.killed_share == result.totals["killed"] / accepted > 0
    assert 1 <= result.ports_quantile(0.5) <= result.ports_quantile(0.99) <= max(result.peak_ports)
    assert "MiB of conntrack" in result.summary()


def test_a_limit_comes_from_the_cgn_config() -> None:
    population = Population(subscribers=500, heavy_fraction=0.2)
    assert simulate(device("cgn"), population).totals["exhausted"] == 0
    assert simulate(device("cgn", ports_per_subscriber=4), population).totals["exhausted"] > 0


@pytest.mark.parametrize(("field", "value"), [("subscribers", 0), ("inbound_fraction", 1.5),
                                              ("gap_alpha", -1.0), ("sample_every", 0.0)])
def test_bad_population(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=field):
        simulate(device("cgn"), Population(**{field: value}))  # type: ignore[arg-type]


def test_more_subscribers_than_the_prefix_holds() -> None:
    with pytest.raises(ConfigError, match=r"do not fit in the CGN's subscribers 100\.64\.1\.0/24"):
        simulate(device("cgn", subscribers="100.64.1.0/24"), Population(subscribers=300))


def test_sharded_over_a_dask_cluster_of_two_workers() -> None:
    from natsim.run.cluster import local_cluster

    cgn = device("cgn", idle_timeout=3600.0, ports_per_subscriber=8)
    population = Population(subscribers=2000)
    with local_cluster(2) as cluster:
        spread = simulate(cgn, population, scheduler=cluster.scheduler_address)
        ran = cluster.scheduler.task_prefixes["run_shard"].state_counts["memory"]
    assert ran == SHARDS                     # every shard was computed by the cluster's workers
    here = simulate(cgn, population)
    assert (spread.totals, spread.mappings, spread.peak_ports) == (here.totals, here.mappings,
                                                                    here.peak_ports)


def test_peaks_per_subscriber_match_a_walk_of_each_subscribers_events() -> None:
    from natsim.run.population import peak_per_subscriber

    rng = np.random.default_rng(7)
    owners = rng.integers(5, 40, 3000)
    starts = rng.integers(0, 50, 3000).astype(float)                # many ties
    ends = starts + rng.integers(0, 6, 3000)                          # some empty: end at its start
    expected = []
    for who in np.unique(owners):
        mine = owners == who
        events = sorted([(t, 0) for t in ends[mine]] + [(t, 1) for t in starts[mine]])  # ends first
        level = peak = 0
        for _, is_start in events:
            level += 1 if is_start else -1
            peak = max(peak, level)
        expected.append(peak)
    shuffled = rng.permutation(3000)
    assert list(peak_per_subscriber(owners, starts, owners[shuffled], ends[shuffled])) == expected


def test_drawn_flows_come_by_subscriber_then_arrival_uniform_without_a_sort() -> None:
    from natsim.run.population_flows import _sorted_uniforms, draw

    p = Population(subscribers=3000)
    flows = draw(p, 100, 3000, 5)
    order = np.lexsort((flows.arrival, flows.subscriber))
    assert (order == np.arange(len(order))).all()
    assert flows.subscriber[0] >= 100 and flows.subscriber[-1] < 3100
    assert flows.arrival.min() >= 0 and flows.arrival.max() <= p.duration
    per_sub = np.full(40_000, 3)                     # order statistics of 3 uniforms: means 1/4, 2/4, 3/4
    u = _sorted_uniforms(np.random.default_rng(1), per_sub).reshape(-1, 3)
    assert np.allclose(u.mean(axis=0), [0.25, 0.5, 0.75], atol=0.005)
    assert (np.diff(u, axis=1) >= 0).all() and u.min() >= 0 and u.max() < 1
