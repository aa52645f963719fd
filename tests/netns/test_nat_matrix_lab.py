"""Every NAT behaviour in a real kernel gives exactly what the model predicts (root tier).

One lab (``a``, ``b`` — ``router`` (nat) — ``server`` with two addresses); each configuration is rendered
into the running router after its ruleset is flushed and its conntrack table emptied (inside the node),
so no state of an earlier configuration reaches the next. Real UDP datagrams (:mod:`tests.nat_matrix`)
are sent by agents in the hosts; the model is fed the same datagrams at the times the lab sent them.
Measured on the shared 2-core machine: ≈ 14 s for all sixteen configurations.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from natsim.conform.agent_client import Agent
from natsim.lab import Lab
from natsim.lab.topology import find_topology
from natsim.middleboxes import build_config
from natsim.units import TimeScale
from tests.nat_matrix import BEHAVIOUR, ModelWorld, Send, refresh_script
from tests.netns.nat_lab_world import TOPOLOGY, LabWorld, start

pytestmark = pytest.mark.natsim_netns
#: Linux's 30 s UDP timer is one lab second.
SCALE = TimeScale(30)
DEPENDENCE = ("endpoint-independent", "address-dependent", "address-and-port-dependent")
BEHAVIOURS: list[dict[str, str]] = [
    *({"mapping": m, "filtering": f} for m in DEPENDENCE for f in DEPENDENCE),
    {"hairpinning": "true"},
    {"hairpinning": "true", "mapping": "address-dependent", "filtering": "address-dependent"},
    {"udp_refused": "silent"},
    {"port_preservation": "false"},
    {"mapping": "address-and-port-dependent", "port_preservation": "false"},   # Linux's random
]
REFRESH = [{"refresh": r, "filtering": f, "udp_stream_timeout": "30s"}
           for r in ("both", "outbound", "inbound") for f in ("address-dependent", "endpoint-independent")]


@pytest.fixture(scope="module")
def matrix() -> Iterator[tuple[Lab, dict[str, Agent]]]:
    with Lab(find_topology(str(TOPOLOGY), trust=True), time_scale=SCALE) as lab:
        agents = start(lab)
        try:
            yield lab, agents
        finally:
            for agent in agents.values():
                agent.close()


def disagreements(matrix: tuple[Lab, dict[str, Agent]], values: dict[str, Any],
                  script: tuple[Send, ...]) -> list[str]:
    """Where the lab and the model differ on ``script`` through a NAT configured with ``values``."""
    config = build_config("nat", values)
    lab = LabWorld(*matrix, config)
    seen = lab.play(script)
    predicted = ModelWorld(config, SCALE, lab.times).play(script)
    assert set(seen.values()) != {"no target"}
    return [f"{values} {tag}: lab {seen[tag]!r}, model {predicted[tag]!r} (at {lab.times.get(tag, 0):.3f} s)"
            for tag in seen if seen[tag] != predicted[tag]]


def test_every_mapping_and_filtering_behaves_as_the_model_says(matrix: tuple[Lab, dict[str, Agent]]) -> None:
    found = [d for values in BEHAVIOURS for d in disagreements(matrix, values, BEHAVIOUR)]
    assert found == []


def test_which_direction_refreshes_a_mapping_as_the_model_says(matrix: tuple[Lab, dict[str, Agent]]) -> None:
    found = [d for values in REFRESH for d in disagreements(matrix, values, refresh_script(1.0))]
    assert found == []
