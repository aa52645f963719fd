"""The CGN population model: per-flow rules, agreement with a simpy replay, determinism, domains."""

from __future__ import annotations

import pytest

from natsim.errors import ConfigError
from natsim.middleboxes.cgn import Cgn
from natsim.middleboxes.conntrack.policy import Untracked
from natsim.run.population import SHARDS, Cgnish, Population, flow_outcome, port_limit, reference, simulate

C = Cgnish(timeout=100.0, transitory=10.0, pickup=True, preserve=True, hold_down=20.0)


def test_flow_without_long_gap_completes() -> None:
    assert flow_outcome(5.0, [99.0, 1.0], [False, True], C) == ("completed", [(5.0, 115.0)], 135.0)


def test_gap_equal_to_the_timeout_kills_an_inbound_packet() -> None:
    assert flow_outcome(0.0, [100.0], [True], C) == ("killed", [(0.0, 100.0)], 120.0)


def test_outbound_pickup_survives_only_after_the_hold_down() -> None:
    assert flow_outcome(0.0, [119.0], [False], C)[0] == "killed"      # old port still held
    assert flow_outcome(0.0, [120.0, 5.0], [False, False], C) == (
        "remapped", [(0.0, 100.0), (120.0, 135.0)], 155.0)
    no_pickup = Cgnish(100.0, 10.0, pickup=False, preserve=True, hold_down=20.0)
    assert flow_outcome(0.0, [500.0], [False], no_pickup)[0] == "killed"


@pytest.mark.parametrize("cgn", [
    Cgn(idle_timeout=3600.0, untracked_outbound=Untracked.PICKUP),
    Cgn(idle_timeout=1800.0),
])
def test_vectorised_model_agrees_with_the_simpy_replay(cgn: Cgn) -> None:
    population = Population(subscribers=SHARDS * 40, ports_per_subscriber=6, heavy_fraction=0.1, seed=3)
    fast = simulate(cgn, population).totals
    slow = [reference(cgn, population, shard) for shard in range(SHARDS)]
    for key in ("completed", "killed", "remapped", "exhausted"):
        assert fast[key] == sum(s[key] for s in slow), key
    assert fast["exhausted"] > 0 and fast["killed"] > 0


def test_independent_of_workers_and_seeded() -> None:
    cgn = Cgn(idle_timeout=3600.0)
    population = Population(subscribers=2000, ports_per_subscriber=8)
    one, two = simulate(cgn, population), simulate(cgn, population, workers=2)
    assert (one.totals, one.mappings, one.held) == (two.totals, two.mappings, two.held)
    other = simulate(cgn, Population(subscribers=2000, ports_per_subscriber=8, seed=1))
    assert other.totals != one.totals
    assert one.times[:3] == [0.0, 300.0, 600.0] and len(one.times) == 289
    assert max(one.mappings) > 0 and one.mappings[0] == 0
    assert one.events > one.totals["flows"]


def test_port_limit_from_the_pool() -> None:
    assert port_limit(Cgn(), Population()) == 1                                # 2 x 64512 / 100000
    assert port_limit(Cgn(pool="198.51.100.0/24"), Population()) == 163        # 254 addresses
    assert port_limit(Cgn(), Population(subscribers=1)) == 64512
    assert port_limit(Cgn(), Population(ports_per_subscriber=7)) == 7


@pytest.mark.parametrize(("field", "value"), [("subscribers", 0), ("inbound_fraction", 1.5),
                                              ("ports_per_subscriber", 0), ("gap_alpha", -1.0)])
def test_bad_population(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=field):
        simulate(Cgn(), Population(**{field: value}))  # type: ignore[arg-type]
