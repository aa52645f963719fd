"""Scenarios: one YAML file describes an experiment (topology, middleboxes, probes, expectations).

Loading is pure (no kernel access): the file is parsed with positions, every key is checked against
the schema (unknown keys are refused with the closest valid key), middlebox settings are parsed by
their config classes, durations are real-world seconds, and every error names file:line:column.
The same :class:`Scenario` drives the lab (``natsim run``) and the model (``natsim predict``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from natsim import scenario_scaling as scaling
from natsim.endpoint import Endpoint
from natsim.errors import ConfigError, OptionError, ScenarioError, TimeScaleError
from natsim.fields import closest, parse_value
from natsim.lab.topology import (
    NodeSpec,
    TopologyRef,
    find_topology,
    node_addresses,
    node_specs,
    open_topology,
)
from natsim.middleboxes.base import Middlebox
from natsim.paths import name_problem, quoted
from natsim.probes import registry as probe_kinds
from natsim.probes.options import ProbeOptions, option_fields
from natsim.report.schema import Verdict
from natsim.scenario_nodes import hosts as scenario_hosts
from natsim.scenario_nodes import middleboxes as scenario_middleboxes
from natsim.scenario_nodes import scaling_error
from natsim.shipped import SCENARIOS
from natsim.trust import Code, check_scenario, probe_code
from natsim.units import TimeScale
from natsim.yamlpos import Located, check_keys, load_file, load_located

TOP_KEYS = ("name", "description", "topology", "time_scale", "seed", "middleboxes", "hosts", "probes",
            "captures", "expect")
PROBE_KEYS = ("name", "kind", "client", "server", "start", "options")

#: Expectation key → how its value is parsed.
EXPECT_KEYS: dict[str, dict[str, Any]] = {
    "first_dead": {"parse": "int-or-null"}, "dead_from": {"parse": "duration"},
    "dead_between": {"parse": "duration-range"}, "all_alive": {"parse": "bool"},
    "verdicts": {"parse": "verdicts"}, "attempts": {"parse": "verdicts"},
    "bypass_bracket_within": {"parse": "duration-range"}, "exit_code": {"parse": "int"},
    "found": {"parse": "findings"},
}
#: natsim's own scenarios (top-level ``scenarios/``; inside the package in a wheel).
SCENARIO_DIR = SCENARIOS


@dataclass(frozen=True)
class ProbeSpec:
    """One probe of a scenario; ``options`` are its kind's typed options (real-world seconds)."""

    name: str
    kind: str
    client: str
    server: str
    start: float = 0.0
    options: ProbeOptions | Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario (pure data)."""

    name: str
    path: Path | None
    description: str
    topology: str
    middleboxes: Mapping[str, Middlebox]
    time_scale: TimeScale
    probes: tuple[ProbeSpec, ...]
    expect: Mapping[str, Mapping[str, Any]]
    captures: bool = True
    seed: int = 0
    links: tuple[tuple[str, str], ...] = ()
    roles: Mapping[str, str] = field(default_factory=dict)
    #: Each node's IPv4 address as the topology gives it (the model addresses hosts by it).
    addresses: Mapping[str, str] = field(default_factory=dict)
    #: The ``hosts:`` section: a host's own kernel TCP settings (others have Linux's defaults).
    hosts: Mapping[str, Endpoint] = field(default_factory=dict)
    #: Where ``topology`` came from, as loaded (a lab loads this); None: look ``topology`` up by name.
    topology_ref: TopologyRef | None = None
    #: The topology as loaded with the scenario (the lab builds it without loading it again); not
    #: pickled (sweeps send scenarios to worker processes; a topology class may not be importable there).
    topo: Any = field(default=None, compare=False, repr=False)
    #: Middlebox timers rounded up at this time scale because no probe depends on them.
    rounded: tuple[scaling.RoundedTimer, ...] = ()

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "topo": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)

    def path_between(self, client: str, server: str) -> tuple[str, ...]:
        """Node names along the path from ``client`` to ``server`` (both included)."""
        graph: dict[str, set[str]] = {}
        for a, b in self.links:
            graph.setdefault(a, set()).add(b)
            graph.setdefault(b, set()).add(a)
        previous: dict[str, str | None] = {client: None}
        queue = deque([client])
        while queue:
            node = queue.popleft()
            for nxt in sorted(graph.get(node, ())):
                if nxt not in previous:
                    previous[nxt] = node
                    queue.append(nxt)
        if server not in previous:
            raise ConfigError(f"no path from {client} to {server} in topology {self.topology}")
        path = [server]
        while previous[path[-1]] is not None:
            path.append(previous[path[-1]])  # type: ignore[arg-type]
        return tuple(reversed(path))

    @property
    def chain(self) -> tuple[str, ...]:
        """The path of the first probe (client → server)."""
        if not self.probes:
            return ()
        return self.path_between(self.probes[0].client, self.probes[0].server)

    def with_time_scale(self, factor: float) -> Scenario:
        """The same scenario at another time scale (re-validates the kernel timeouts)."""
        scenario = _scaled(replace(self, time_scale=TimeScale(factor)))
        for node, endpoint in scenario.hosts.items():
            endpoint.scaled(node, scenario.time_scale)
        return scenario


def _parse_option(doc: Located, path: tuple[str | int, ...], spec: Mapping[str, Any], raw: Any) -> Any:
    what = ".".join(str(p) for p in path)
    kind = spec["parse"]
    try:
        if kind == "duration-list":
            items = raw if isinstance(raw, list) else [raw]
            return tuple(parse_value(what, {"parse": "duration"}, item) for item in items)
        if kind == "int-or-null":
            return None if raw is None else parse_value(what, {"parse": "int"}, raw)
        if kind == "verdicts":
            values = [m.value for m in Verdict]
            if not isinstance(raw, list) or any(str(v) not in values for v in raw):
                raise ConfigError(f"{what}: expected a list of verdicts ({', '.join(values)}), got {raw!r}")
            return tuple(Verdict(str(v)) for v in raw)
        return parse_value(what, spec, raw)
    except OptionError as err:   # one item of a list value
        raise doc.error((*path, *err.path), err.message) from err
    except ConfigError as err:
        raise doc.error(path, err.message) from err


def _scaled(scenario: Scenario) -> Scenario:
    """``scenario`` with its middlebox timers at its time scale (:mod:`natsim.scenario_scaling`):
    those no probe depends on rounded up, the others checked (a problem raises at load)."""
    declared = scaling.declared(scenario.middleboxes, scenario.rounded)
    needed = scaling.needed_states(probe_kinds.kind(p.kind) for p in scenario.probes)
    middleboxes, rounded = scaling.round_loose_timers(declared, needed, scenario.time_scale)
    scaling.check_scaling(middleboxes, scenario.time_scale)
    return replace(scenario, middleboxes=middleboxes, rounded=rounded)


def _topology(doc: Located, data: dict[str, Any], path: Path | None, trust: bool,
              model_only: bool, probes: list[_Parsed]) -> tuple[TopologyRef, Any]:
    """Find the topology (running nothing), refuse the scenario's own code unless trusted, load it.

    Trusted without ``--trust``: a shipped scenario's probes; every probe when only predicted
    (``model_only``: the model runs no probe's code). A topology file needs trust even then."""
    try:
        ref = find_topology(str(data["topology"]), trust=trust, base=path.parent if path else None)
    except ConfigError as err:
        raise doc.error(("topology",), err.message) from err
    shipped = path is not None and path.resolve().parent == SCENARIO_DIR
    found = [] if ref.may_run else [Code(("topology",), ref.describe())]
    if not (trust or shipped or model_only):
        for i, probe in enumerate(probes):
            codes = probe.kind.user_code(probe.options) if probe.kind.user_code is not None else []
            found += [probe_code(i, probe.name, probe.kind.name, str(probe.item.get("client", "client")),
                                 code) for code in codes]
    check_scenario(doc, found)
    try:
        return open_topology(ref)
    except ConfigError as err:
        raise doc.error(("topology",), err.message) from err


def _scenario_name(doc: Located, data: dict[str, Any], default_name: str) -> str:
    """The ``name:``, or the file's name; either must be usable as a file name."""
    name = str(data.get("name", default_name))
    problem = name_problem(name)
    if problem is None:
        return name
    if "name" in data:
        raise doc.error(("name",), f"scenario name {quoted(name)} {problem}")
    raise doc.error((), f"scenario name {quoted(name)} (the file's name) {problem}; set `name:`")


@dataclass(frozen=True)
class _Parsed:
    """A probe whose kind, name and options are checked (its nodes are checked once the topology is
    loaded)."""

    item: dict[str, Any]
    kind: probe_kinds.ProbeKind
    name: str
    options: ProbeOptions


def _probe_options(doc: Located, i: int, raw: Any) -> _Parsed:
    """Check probe ``i``'s keys, kind, name and options: everything but its nodes (pure; what the
    trust check reads). An option error points at the offending value or list item."""
    where = ("probes", i)
    item = check_keys(doc, where, raw, PROBE_KEYS, "a probe")
    kind = str(item.get("kind", ""))
    try:
        probe_kind = probe_kinds.kind(kind)
    except ConfigError as err:
        raise doc.error((*where, "kind"), err.message) from err
    name = str(item.get("name", kind))
    problem = name_problem(name)
    if problem is not None:
        raise doc.error((*where, "name"), f"probe name {quoted(name)} {problem}")
    specs_by_name = {f.name: dict(f.metadata) for f in option_fields(probe_kind.options)}
    raw_options = check_keys(doc, (*where, "options"), item.get("options") or {}, list(specs_by_name),
                              f"options of {kind}")
    values = {key: _parse_option(doc, (*where, "options", key), specs_by_name[key], value)
              for key, value in raw_options.items()}
    try:
        options = probe_kind.options(**values)
        options.validate()
    except OptionError as err:
        raise doc.error((*where, "options", *err.path), f"options of {kind}: {err.message}") from err
    except ConfigError as err:
        raise doc.error((*where, "options"), f"options of {kind}: {err.message}") from err
    return _Parsed(item, probe_kind, name, options)


def _probe(doc: Located, i: int, probe: _Parsed, specs: Mapping[str, NodeSpec], topology: str) -> ProbeSpec:
    """The probe with its nodes checked against the topology."""
    where = ("probes", i)
    nodes = {}
    for role_key in ("client", "server"):
        node = str(probe.item.get(role_key, role_key))
        if node not in specs:
            raise doc.error((*where, role_key), f"no node '{node}' in topology {topology}"
                            f"{closest(node, list(specs))}")
        nodes[role_key] = node
    for f in option_fields(probe.kind.options):   # options naming a third node (hole-punch's peer)
        node = getattr(probe.options, f.name)
        if f.metadata["parse"] != "node":
            continue
        if not node:
            raise doc.error(where, f"{probe.kind.name} needs option '{f.name}': {f.metadata['doc']}")
        if node not in specs:
            raise doc.error((*where, "options", f.name), f"{f.name}: no node '{node}' in topology "
                            f"{topology}{closest(str(node), list(specs))}")
        if node in nodes.values():
            raise doc.error((*where, "options", f.name), f"{f.name}: '{node}' is the probe's "
                            f"{'client' if node == nodes['client'] else 'server'}; name another node")
    start = _parse_option(doc, (*where, "start"), {"parse": "duration"}, probe.item["start"]) \
        if probe.item.get("start") not in (None, 0, "0", "0s") else 0.0
    return ProbeSpec(name=probe.name, kind=probe.kind.name, client=nodes["client"], server=nodes["server"],
                     start=start, options=probe.options)


def _expectations(doc: Located, data: dict[str, Any], names: list[str]) -> dict[str, dict[str, Any]]:
    """``expect:``, per probe name, parsed."""
    expect: dict[str, dict[str, Any]] = {}
    for probe_name, raw in check_keys(doc, ("expect",), data.get("expect") or {}, names, "expect").items():
        checks = check_keys(doc, ("expect", probe_name), raw or {}, list(EXPECT_KEYS),
                             f"expectations of {probe_name}")
        expect[probe_name] = {key: _parse_option(doc, ("expect", probe_name, key), EXPECT_KEYS[key], value)
                              for key, value in checks.items()}
    return expect


def parse_scenario(doc: Located, *, default_name: str = "scenario", path: Path | None = None,
                   trust: bool = False, model_only: bool = False) -> Scenario:
    """Validate a parsed document into a :class:`Scenario`.

    Without ``trust``, a scenario that runs its own code (probes whose kind declares ``user_code``:
    command probes, ssh options beyond ssh-idle's allow-list; a topology file not shipped with natsim)
    raises :class:`~natsim.errors.UntrustedCodeError` before any of it runs; scenarios shipped with
    natsim (``scenarios/``) may run their probes' code. ``model_only``: the scenario is only predicted
    (the model runs no probe's code, so probes need no trust; a topology file still does; the options
    are checked all the same). A relative ``FILE.py`` topology is relative to ``path``'s directory.
    """
    data = check_keys(doc, (), doc.data, TOP_KEYS, "the scenario")
    for required in ("topology", "probes"):
        if required not in data:
            raise doc.error((), f"missing required key '{required}'")
    name = _scenario_name(doc, data, default_name)
    raw_probes = data["probes"]
    parsed = [_probe_options(doc, i, raw) for i, raw in enumerate(raw_probes)] \
        if isinstance(raw_probes, list) else []
    ref, topo = _topology(doc, data, path, trust, model_only, parsed)
    assert ref.name is not None
    specs = node_specs(topo)
    try:
        scale = TimeScale(data.get("time_scale", 1))
    except ConfigError as err:
        raise doc.error(("time_scale",), err.message) from err
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise doc.error(("seed",), f"seed must be an integer, got {seed!r}")
    addresses = node_addresses(topo)
    middleboxes = scenario_middleboxes(doc, data, specs, addresses)

    if not parsed:
        raise doc.error(("probes",), "probes must be a non-empty list")
    probes: list[ProbeSpec] = []
    for i, raw in enumerate(parsed):
        probe = _probe(doc, i, raw, specs, ref.name)
        if any(p.name == probe.name for p in probes):
            raise doc.error(("probes", i, "name"),
                            f"duplicate probe name '{probe.name}' (give each probe a name)")
        probes.append(probe)

    expect = _expectations(doc, data, [p.name for p in probes])
    captures = data.get("captures", True)
    if not isinstance(captures, bool):
        raise doc.error(("captures",), f"captures must be true or false, got {captures!r}")
    description = data.get("description", "")
    scenario = Scenario(name=name, path=path, description=str(description),
                        topology=ref.name, middleboxes=middleboxes, time_scale=scale,
                        probes=tuple(probes), expect=expect, captures=captures, seed=seed,
                        links=tuple((a, b) for a, b in topo.links()),
                        roles={n: s.role for n, s in specs.items()}, addresses=addresses,
                        hosts=scenario_hosts(doc, data, specs, scale), topology_ref=ref, topo=topo)
    try:
        return _scaled(scenario)
    except TimeScaleError as err:
        raise scaling_error(doc, err, data, middleboxes) from err
    except ConfigError as err:
        raise doc.error(("time_scale",), err.message) from err


def load_scenario(path: str | Path, *, time_scale: float | None = None, trust: bool = False,
                  model_only: bool = False, sets: Mapping[str, Mapping[str, str]] | None = None) -> Scenario:
    """Load and validate a scenario file (a path, or a shipped scenario's name).

    ``trust`` allows the scenario to run its own code; ``model_only`` when it is only predicted
    (see :func:`parse_scenario`). ``sets`` (``--set NODE.SETTING=VALUE``, ``NODE.preset=NAME``) are
    middlebox settings over the file's: checked as the file's are, an error names the option."""
    file = resolve_scenario(path)
    doc = load_file(file)
    for node, values in (sets or {}).items():
        for key, value in values.items():
            doc.override(("middleboxes", node, key), value, f"--set {node}.{key}={value}")
    scenario = parse_scenario(doc, default_name=file.stem, path=file, trust=trust,
                              model_only=model_only)
    if time_scale is not None:
        try:
            scenario = scenario.with_time_scale(time_scale)
        except ConfigError as err:
            raise ScenarioError(f"--time-scale {time_scale:g}: {err.message}", str(file)) from err
    return scenario


def load_scenario_text(text: str, source: str = "<text>", *, trust: bool = False,
                       model_only: bool = False) -> Scenario:
    """Load a scenario from YAML text (tests, the pytest plugin); see :func:`parse_scenario`."""
    return parse_scenario(load_located(text, source), path=None, trust=trust, model_only=model_only)



def shipped_scenarios() -> dict[str, Path]:
    """Name → file of the scenarios shipped with natsim (``scenarios/``)."""
    return {p.stem: p for p in sorted(SCENARIO_DIR.glob("*.yaml"))}


def resolve_scenario(name_or_path: str | Path) -> Path:
    """A scenario file from a path or a shipped scenario's name."""
    path = Path(name_or_path)
    if path.exists():
        return path
    shipped = shipped_scenarios()
    if str(name_or_path) in shipped:
        return shipped[str(name_or_path)]
    raise ScenarioError(f"no scenario file '{name_or_path}'{closest(str(name_or_path), list(shipped))}; "
                        f"shipped: {', '.join(shipped)}")
