"""``predict(scenario)``: run every probe of a scenario through the model; pure, no I/O.

The scenario is read through the small :class:`ScenarioLike` protocol (``natsim.scenario.Scenario``
provides it), so the model does not depend on how scenarios are loaded.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from natsim.errors import ConfigError
from natsim.middleboxes import build_model
from natsim.middleboxes import kind as middlebox_kind
from natsim.middleboxes.presets import used
from natsim.probes.registry import ProbeModel
from natsim.probes.registry import kind as probe_kind
from natsim.report.schema import RunResult
from natsim.scenario_scaling import declared
from natsim.sim.timers import unscaled_notes
from natsim.sim.world import World
from natsim.units import TimeScale


class ScenarioLike(Protocol):
    """The attributes :func:`predict` reads from a scenario (one that also knows its links declares
    :class:`Routed`); ``addresses`` (node → IPv4 address) addresses the model's hosts as the lab does."""

    name: str
    topology: str
    middleboxes: Mapping[str, Any]
    chain: tuple[str, ...]
    time_scale: Any            # natsim.units.TimeScale (``.factor``) or a number
    probes: tuple[Any, ...]    # ProbeSpec-like: name, kind, client, server, start, options
    seed: int
    addresses: Mapping[str, str]
    hosts: Mapping[str, Any]   # host node → natsim.endpoint.Endpoint (its kernel TCP settings)


@runtime_checkable
class Rounded(Protocol):
    """A scenario whose middlebox timers were rounded up at its time scale (no probe depends on them):
    the result lists them (:mod:`natsim.scenario_scaling`)."""

    rounded: tuple[Any, ...]   # RoundedTimer-like: describe()


@runtime_checkable
class Routed(Protocol):
    """A scenario that knows the path between two nodes: each probe's route then crosses exactly the
    middleboxes on its own path (else every middlebox, in ``chain`` order)."""

    def path_between(self, client: str, server: str) -> tuple[str, ...]:
        """Node names from ``client`` to ``server``, both included."""
        ...


def scale_of(scenario: ScenarioLike) -> float:
    """The scenario's time scale as a number."""
    scale = scenario.time_scale
    return scale.factor if isinstance(scale, TimeScale) else float(scale or 1.0)


def build(scenario: ScenarioLike, seed: int = 0, *, as_lab: bool = True,
          packets: bool = False) -> tuple[World, list[ProbeModel]]:
    """The world and probe models of ``scenario`` (not yet run); for tests and sweeps."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"seed must be a whole number, got {seed!r}")
    timing = TimeScale(scale_of(scenario) if as_lab else 1.0)
    base_seed = scenario.seed or 0
    configs = scenario.middleboxes if as_lab else _declared(scenario)
    boxes = {node: build_model(node, config, timing, seed + base_seed) for node, config in configs.items()}
    fronting = [node for node, config in scenario.middleboxes.items()
                if middlebox_kind(config.kind).backends is not None]
    world = World(boxes, tuple(scenario.chain or ()), timing, seed=seed + base_seed, packets=packets,
                  path=scenario.path_between if isinstance(scenario, Routed) else None,
                  addresses=scenario.addresses, labels={node: f"{node}'s backend" for node in fronting},
                  endpoints=scenario.hosts)
    models: list[ProbeModel] = []
    for spec in scenario.probes:
        make = probe_kind(spec.kind).model
        if make is not None:
            models.append(make(world, spec))
    return world, models


def predict(scenario: ScenarioLike, seed: int = 0, *, as_lab: bool = True) -> RunResult:
    """Predict every probe of ``scenario``: a :class:`RunResult` with ``source="model"``.

    With ``as_lab`` (default) timers a lab cannot scale (TCP RTO, conntrack's unacknowledged
    timeout) keep kernel speed and scaled timeouts are whole lab seconds, so the prediction matches
    ``natsim run``; ``as_lab=False`` predicts a real network with the same settings.
    """
    return predict_traced(scenario, seed, as_lab=as_lab)[0]


def predict_traced(scenario: ScenarioLike, seed: int = 0, *, as_lab: bool = True,
                   packets: bool = False) -> tuple[RunResult, World]:
    """:func:`predict`, and the world it ran: its trace holds what happened to every connection (typed
    events, :mod:`natsim.sim.trace`; every segment with ``packets``)."""
    t0 = time.time()
    world, models = build(scenario, seed, as_lab=as_lab, packets=packets)
    for model in models:
        model.start()
    world.env.run()
    probes = [m.result() for m in models]
    result = RunResult(source="model", time_scale=scale_of(scenario), scenario=scenario.name,
                       presets=used(scenario.middleboxes), started=t0, finished=time.time(), probes=probes,
                       unscaled=[*unscaled_notes(world.timing), *(_rounded(scenario) if as_lab else [])],
                       notes=[f"seed {seed}", f"simulated {world.env.now:.6g} real-world s",
                              *(f"probe {p.name} ({p.kind}) is not modelled: "
                                f"{probe_kind(p.kind).unmodelled}" for p in scenario.probes
                                if probe_kind(p.kind).model is None)])
    result.complete = all(p.complete for p in probes)
    return result, world


__all__ = ["Routed", "ScenarioLike", "build", "predict", "predict_traced"]


def _declared(scenario: ScenarioLike) -> Mapping[str, Any]:
    """The middleboxes as the scenario declares them: a real network's timers are not rounded to
    whole lab seconds (:mod:`natsim.scenario_scaling`)."""
    return declared(scenario.middleboxes, scenario.rounded) if isinstance(scenario, Rounded) \
        else scenario.middleboxes


def _rounded(scenario: ScenarioLike) -> list[str]:
    return [timer.describe() for timer in scenario.rounded] if isinstance(scenario, Rounded) else []
