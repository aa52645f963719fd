"""The ``middleboxes:`` and ``hosts:`` sections of a scenario: each middlebox node's settings (and
``preset:``) → its config, each host's kernel TCP settings → its :class:`~natsim.endpoint.Endpoint`,
every error at the file:line:col of the value it is about.

A node's settings are checked one by one by its kind's config class, a ``preset:`` first (it must name
a preset of the node's kind; a preset file that is itself wrong is reported at its own position), then
together (:func:`natsim.middleboxes.presets.configure`: the preset's settings, the explicit ones over
them). A timeout the time scale cannot represent is reported at the ``preset:`` that gave it
(:func:`scaling_error`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from natsim.endpoint import Endpoint
from natsim.errors import ConfigError, ScenarioError, TimeScaleError
from natsim.fields import config_from_mapping
from natsim.lab.topology import ROLES_PLAIN, NodeSpec
from natsim.middleboxes import kind
from natsim.middleboxes import presets as device_presets
from natsim.middleboxes.base import Middlebox
from natsim.units import TimeScale
from natsim.yamlpos import Located, check_keys


def _check_preset(doc: Located, node: str, role: str, raw: Any) -> None:
    """``preset: NAME`` names a preset of the node's kind; a preset file that is itself wrong is
    reported at its own file:line:col."""
    try:
        device_presets.for_kind(str(raw), role)
    except ScenarioError:
        raise
    except ConfigError as err:
        raise doc.error(("middleboxes", node, device_presets.PRESET_KEY), f"{node}.preset: {err.message}") \
            from err


def _backends(doc: Located, node: str, config: Middlebox, addresses: Mapping[str, str]) -> None:
    """A node that fronts backends (its kind declares them) names hosts of the topology."""
    backends = kind(config.kind).backends
    for address in backends(config) if backends is not None else ():
        if address not in addresses.values():
            known = ", ".join(f"{n} {a}" for n, a in sorted(addresses.items()))
            raise doc.error(("middleboxes", node), f"{node}: backend {address} is the address of no node "
                            f"of the topology ({known})")


def _middlebox(doc: Located, node: str, spec: NodeSpec, values: dict[str, Any]) -> Middlebox:
    """The config of ``node`` from its settings: each checked at its own position, a preset's first
    (the node's own, else its role's)."""
    chosen = {}
    if device_presets.PRESET_KEY in values:
        chosen = {device_presets.PRESET_KEY: values[device_presets.PRESET_KEY]}
        _check_preset(doc, node, spec.kind, values[device_presets.PRESET_KEY])
    for key in values:
        if key == device_presets.PRESET_KEY:
            continue
        try:   # under the kind's name or the device's own (a cgn's subscribers)
            device_presets.configure(spec.role, {**chosen, key: values[key]}, prefix=f"{node}.")
        except ConfigError as err:
            unknown = err.message.startswith("unknown setting")
            raise doc.error(("middleboxes", node, key), err.message, key=unknown) from err
    try:
        return device_presets.configure(spec.role, values, prefix=f"{node}.")
    except ConfigError as err:
        raise doc.error(("middleboxes", node), err.message) from err


def middleboxes(doc: Located, data: dict[str, Any], specs: Mapping[str, NodeSpec],
                addresses: Mapping[str, str]) -> dict[str, Middlebox]:
    """Every middlebox node's config: from its settings, else its kind's defaults."""
    configs: dict[str, Middlebox] = {}
    raw_boxes = check_keys(doc, ("middleboxes",), data.get("middleboxes") or {}, list(specs), "middleboxes")
    for node, values in raw_boxes.items():
        if specs[node].role in ROLES_PLAIN:
            raise doc.error(("middleboxes", node), f"node '{node}' is a plain {specs[node].role}: "
                            "it has no settings", key=True)
        values = values or {}
        if not isinstance(values, dict):
            raise doc.error(("middleboxes", node), f"settings of '{node}' must be a mapping")
        configs[node] = _middlebox(doc, node, specs[node], values)
    for node, spec in specs.items():
        if spec.role not in ROLES_PLAIN and node not in configs:
            configs[node] = device_presets.configure(spec.role, {})
    for node, config in configs.items():
        _backends(doc, node, config, addresses)
    return configs


def scaling_error(doc: Located, err: TimeScaleError, data: dict[str, Any],
                   middleboxes: Mapping[str, Middlebox]) -> ScenarioError:
    """A timeout the time scale cannot represent: at the ``preset:`` that gave it (naming the preset
    file's line), else at ``time_scale``."""
    node, _, setting = (err.setting or "").partition(".")
    if ("middleboxes", node, setting) in doc.overrides:   # a --set value
        return doc.error(("middleboxes", node, setting), err.message)
    preset = device_presets.preset_of(middleboxes.get(node))
    explicit = ((data.get("middleboxes") or {}).get(node) or {})
    if preset is None or setting not in dict(preset.settings) or setting in explicit:
        return doc.error(("time_scale",), err.message)
    return doc.error(("middleboxes", node, device_presets.PRESET_KEY),
                     f"{err.message} The value is preset {preset.name}'s ({preset.position(setting)}); "
                     f"set {node}.{setting} to override it.")


def hosts(doc: Located, data: dict[str, Any], specs: Mapping[str, NodeSpec],
          scale: TimeScale) -> dict[str, Endpoint]:
    """The ``hosts:`` section: each plain node's (host, router) kernel TCP settings
    (:class:`natsim.endpoint.Endpoint`), each value checked at its own position, and every one the
    user set representable at ``scale``."""
    plain = [node for node, spec in specs.items() if spec.role in ROLES_PLAIN]
    raw_hosts = check_keys(doc, ("hosts",), data.get("hosts") or {}, plain, "hosts")
    found: dict[str, Endpoint] = {}
    for node, values in raw_hosts.items():
        values = values or {}
        if not isinstance(values, dict):
            raise doc.error(("hosts", node), f"settings of host '{node}' must be a mapping")
        for key in values:
            try:
                config_from_mapping(Endpoint, {key: values[key]}, prefix=f"{node}.")
            except ConfigError as err:
                unknown = err.message.startswith("unknown setting")
                raise doc.error(("hosts", node, key), err.message, key=unknown) from err
        endpoint = config_from_mapping(Endpoint, values, prefix=f"{node}.")
        try:
            endpoint.scaled(node, scale)
        except TimeScaleError as err:
            setting = (err.setting or "").partition(".")[2]
            raise doc.error(("hosts", node, setting) if setting in values else ("time_scale",),
                            err.message) from err
        found[node] = endpoint
    return found
