"""What a sweep varies: ``--param NAME.SETTING=VALUES`` resolved against a scenario.

``NAME`` is a middlebox node (``cpe.idle_timeout=30m..3h:15m``), a host (its kernel TCP settings:
``client.tcp_keepalive_time=5m..30m:5m``, :mod:`natsim.endpoint`) or a probe
(``send.step=30s,1m``; an ssh-idle variant's ssh option: ``sessions.serveralive-300.ServerAliveInterval=
1m..15m:1m``). VALUES is ``LOW..HIGH:STEP`` (durations or whole numbers) or ``A,B,C`` (anything the
setting accepts). Each kind of target is a :class:`TargetKind` in :data:`TARGET_KINDS`; a new kind of
target is one more entry there. Values are parsed by the setting's own
declaration (:mod:`natsim.fields`), and a point is applied through the middlebox config's or the probe
options' own validation, so a sweep can only produce what a scenario could hold.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from natsim.endpoint import DEFAULT, Endpoint
from natsim.errors import ConfigError
from natsim.fields import closest, parse_value, settings, validate
from natsim.probes.registry import options_of


@dataclass(frozen=True)
class TargetKind:
    """One kind of thing a sweep can set: what it is called, which names the scenario has, how a
    setting's values parse and how a scenario gets one (plain functions: targets travel to worker
    processes by the kind's name)."""

    name: str
    names: Callable[[Any], list[str]]
    spec: Callable[[Any, str, tuple[str, ...], str], Mapping[str, Any]]
    apply: Callable[[Any, str, tuple[str, ...], Any], Any]


def _middlebox_spec(scenario: Any, node: str, path: tuple[str, ...], what: str) -> Mapping[str, Any]:
    config = scenario.middleboxes[node]
    fields = {f.name: f for f in settings(type(config))}
    setting = ".".join(path)
    if len(path) != 1 or setting not in fields:
        raise ConfigError(f"{what}: {config.kind} has no setting '{setting}'"
                          f"{closest(setting, sorted(fields))}; valid: {', '.join(sorted(fields))}")
    return fields[setting].metadata


def _middlebox_apply(scenario: Any, node: str, path: tuple[str, ...], value: Any) -> Any:
    boxes = dict(scenario.middleboxes)
    config = dataclasses.replace(boxes[node], **{path[0]: value})
    validate(config)
    boxes[node] = config
    return dataclasses.replace(scenario, middleboxes=boxes)


def _hosts(scenario: Any) -> list[str]:
    """The scenario's nodes that are not middleboxes (hosts, routers): each has a TCP stack."""
    return sorted(n for n in scenario.addresses if n not in scenario.middleboxes)


def _host_spec(scenario: Any, node: str, path: tuple[str, ...], what: str) -> Mapping[str, Any]:
    fields = {f.name: f for f in settings(Endpoint)}
    setting = ".".join(path)
    if len(path) != 1 or setting not in fields:
        raise ConfigError(f"{what}: a host has no setting '{setting}'{closest(setting, sorted(fields))}; "
                          f"valid: {', '.join(sorted(fields))}")
    return fields[setting].metadata


def _host_apply(scenario: Any, node: str, path: tuple[str, ...], value: Any) -> Any:
    endpoint = dataclasses.replace(scenario.hosts.get(node, DEFAULT), **{path[0]: value})
    validate(endpoint)
    endpoint.scaled(node, scenario.time_scale)   # a value the lab cannot hold is refused
    return dataclasses.replace(scenario, hosts={**scenario.hosts, node: endpoint})


def _probe(scenario: Any, name: str) -> Any:
    return next(p for p in scenario.probes if p.name == name)


def _probe_spec(scenario: Any, name: str, path: tuple[str, ...], what: str) -> Mapping[str, Any]:
    return options_of(_probe(scenario, name)).setting_spec(path, what=what)


def _probe_apply(scenario: Any, name: str, path: tuple[str, ...], value: Any) -> Any:
    spec = _probe(scenario, name)
    options = options_of(spec).with_setting(path, value)
    probes = tuple(dataclasses.replace(p, options=options) if p is spec else p for p in scenario.probes)
    return dataclasses.replace(scenario, probes=probes)


#: What ``--param`` can set, tried in this order; a name two kinds both have is refused as ambiguous.
TARGET_KINDS: dict[str, TargetKind] = {
    kind.name: kind for kind in (
        TargetKind("middlebox", lambda s: sorted(s.middleboxes), _middlebox_spec, _middlebox_apply),
        TargetKind("host", _hosts, _host_spec, _host_apply),
        TargetKind("probe", lambda s: [p.name for p in s.probes], _probe_spec, _probe_apply),
    )}


@dataclass(frozen=True)
class Param:
    """One swept setting and its values (parsed, in the setting's own types)."""

    target: str               # a key of TARGET_KINDS
    owner: str                # the middlebox node or probe name
    path: tuple[str, ...]     # the setting within it
    values: tuple[Any, ...]

    @property
    def name(self) -> str:
        """``cpe.idle_timeout``, ``sessions.serveralive-300.ServerAliveInterval``: as the user wrote it."""
        return ".".join((self.owner, *self.path))

    @property
    def node(self) -> str:
        """The middlebox node or probe the setting belongs to."""
        return self.owner

    @property
    def setting(self) -> str:
        """The setting within it (dotted when nested)."""
        return ".".join(self.path)

    def apply(self, scenario: Any, value: Any) -> Any:
        """``scenario`` with this setting at ``value`` (validated by its owner)."""
        return TARGET_KINDS[self.target].apply(scenario, self.owner, self.path, value)


def resolve(scenario: Any, key: str) -> tuple[TargetKind, str, tuple[str, ...]]:
    """The target kind, owner and setting path ``key`` (``NAME.SETTING[.MORE]``) names."""
    owner, _, rest = key.partition(".")
    claims = [kind for kind in TARGET_KINDS.values() if owner in kind.names(scenario)]
    if not claims:
        everything = {kind.name: kind.names(scenario) for kind in TARGET_KINDS.values()}
        known = sorted(n for names in everything.values() for n in names)
        listing = "; ".join(f"{kind}s: {', '.join(names) or 'none'}" for kind, names in everything.items())
        raise ConfigError(f"--param {key}: no middlebox, host or probe '{owner}' in the scenario"
                          f"{closest(owner, known)}; {listing}")
    if len(claims) > 1:
        raise ConfigError(f"--param {key}: '{owner}' is both a {' and a '.join(k.name for k in claims)}; "
                          "rename one in the scenario")
    return claims[0], owner, tuple(rest.split("."))


def _range(text: str, what: str, parse: Callable[[str], float]) -> list[float]:
    bounds, sep, step_text = text.partition(":")
    lo_text, dots, hi_text = bounds.partition("..")
    if not dots or not sep:
        raise ConfigError(f"{what}: expected LOW..HIGH:STEP, got {text!r}")
    lo, hi, step = parse(lo_text), parse(hi_text), parse(step_text)
    if step <= 0:
        raise ConfigError(f"{what}: step must be greater than zero, got {step_text!r}")
    if lo > hi:
        raise ConfigError(f"{what}: range {text!r} has its lower end above its upper end")
    count = int((hi - lo) / step + 1e-9) + 1
    if count > 1_000_000:
        raise ConfigError(f"{what}: range {text!r} has {count} values")
    return [lo + k * step for k in range(count)]


def _values(text: str, spec: Mapping[str, Any], what: str) -> tuple[Any, ...]:
    raw: list[Any]
    if ".." in text and spec["parse"] in ("duration", "int"):
        def parse_one(v: str) -> float:
            return float(parse_value(what, spec, v.strip()))
        raw = _range(text, what, parse_one)
        if spec["parse"] == "int":
            raw = [int(v) for v in raw]
    else:
        raw = [v.strip() for v in text.split(",") if v.strip()]
    parsed = tuple(parse_value(what, spec, v) for v in raw)
    if spec["parse"] == "duration" and not spec.get("allow_zero") and any(v <= 0 for v in parsed):
        raise ConfigError(f"{what}: durations must be greater than zero")
    return parsed


def parse_param(text: str, scenario: Any) -> Param:
    """Parse ``NAME.SETTING=VALUES`` against ``scenario`` (its middleboxes and probes)."""
    key, eq, values = text.partition("=")
    key = key.strip()
    if not eq or "." not in key or not values.strip():
        raise ConfigError(f"--param {text!r}: expected NAME.SETTING=LOW..HIGH:STEP or NAME.SETTING=A,B "
                          "(NAME: a middlebox node or a probe; expected NODE.SETTING= or PROBE.OPTION=)")
    kind, owner, path = resolve(scenario, key)
    what = f"--param {key}"
    spec = kind.spec(scenario, owner, path, what)
    param = Param(kind.name, owner, path, _values(values.strip(), spec, what))
    for value in param.values:   # each value as its owner checks it (alone: combinations come later)
        try:
            param.apply(scenario, value)
        except ConfigError as err:
            raise ConfigError(f"{what}: {err.message}") from err
    return param
