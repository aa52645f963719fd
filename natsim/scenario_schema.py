"""JSON Schema of scenario files, generated from the loader's own tables (for editor completion).

``scenarios/scenario.schema.json`` (shipped in the wheel, next to the scenarios) is this output; a
unit test keeps the two identical. Regenerate with
``python -m natsim.scenario_schema > scenarios/scenario.schema.json``.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from natsim.endpoint import Endpoint
from natsim.fields import settings
from natsim.middleboxes import config_class, kinds
from natsim.middleboxes.base import DeviceConfig, Preset
from natsim.middleboxes.presets import PRESET_KEY, shipped
from natsim.paths import MAX_NAME, NAME_PATTERN
from natsim.probes.options import option_fields
from natsim.probes.registry import kinds as probe_kinds
from natsim.report.schema import Verdict
from natsim.scenario import EXPECT_KEYS, PROBE_KEYS

NAME_SCHEMA = {"type": "string", "pattern": f"^{NAME_PATTERN}$", "maxLength": MAX_NAME,
               "not": {"enum": [".", ".."]},
               "description": "becomes a file name: letters, digits, '.', '_', '-'"}
DURATION = {"type": ["string", "number"], "description": "real-world duration: 90, '1h', '2h4m', '3720s'"}


def _value(spec: dict[str, Any]) -> dict[str, Any]:
    kind = spec["parse"]
    if kind == "duration":
        return dict(DURATION)
    if kind in ("duration-list", "duration-range"):
        return {"type": ["array", "string"], "items": DURATION}
    if kind == "enum":
        return {"enum": [m.value for m in spec["enum"]]}
    if kind == "choice":
        return {"enum": list(spec["choices"])}
    if kind == "bool":
        return {"type": "boolean"}
    if kind in ("int", "int-or-null"):
        nullable = kind == "int-or-null" or spec.get("optional")
        bounds = {"minimum": spec.get("minimum", 0),
                  **({"maximum": spec["maximum"]} if "maximum" in spec else {})}
        return {"type": ["integer", "null"] if nullable else "integer", **bounds}
    if kind == "verdicts":
        return {"type": "array", "items": {"enum": [v.value for v in Verdict]}}
    if kind == "ports":
        return {"type": ["array", "string", "integer"]}
    if kind == "findings":
        return {"type": "object", "minProperties": 1,
                "additionalProperties": {"type": ["string", "boolean", "integer", "null"]}}
    if kind == "str-list":
        return {"type": ["array", "string"], "items": {"type": "string"}}
    return {"type": "string"}


def _middlebox(kind: str) -> dict[str, Any]:
    props = {}
    for f in dataclasses.fields(config_class(kind)):
        if "parse" in f.metadata:
            props[f.name] = {**_value(dict(f.metadata)), "description": f.metadata.get("doc", "")}
    if issubclass(config_class(kind), DeviceConfig):
        props[PRESET_KEY] = {"type": "string", "description": f"a {kind} preset (`natsim list presets`); "
                             "the other settings override its values"}
    return {"type": "object", "additionalProperties": False, "properties": props,
            "description": f"settings of a {kind} node"}


def _device(preset: Preset) -> dict[str, Any]:
    """The settings of a node whose role is a device preset with names of its own (a ``cgn``'s
    ``subscribers``): its kind's, and the device's names for them."""
    entry = _middlebox(preset.kind)
    props = dict(entry["properties"])
    for own, setting in preset.names:
        props[own] = {**props[setting], "description": f"{preset.name}'s name for {setting}: "
                      + props[setting]["description"]}
    return {**entry, "properties": props, "description": f"settings of a {preset.name} node "
            f"(a {preset.kind} preset)"}


def _host() -> dict[str, Any]:
    props = {f.name: {**_value(dict(f.metadata)), "description": f.metadata.get("doc", "")}
             for f in settings(Endpoint)}
    return {"type": "object", "additionalProperties": False, "properties": props,
            "description": "a host's net.ipv4 TCP settings"}


def json_schema() -> dict[str, Any]:
    """The scenario JSON Schema (draft 2020-12)."""
    probe_variants = []
    for kind, entry in probe_kinds().items():
        props = {f.name: {**_value(dict(f.metadata)), "description": f.metadata.get("doc", "")}
                 for f in option_fields(entry.options)}
        probe_variants.append({
            "if": {"properties": {"kind": {"const": kind}}},
            "then": {"properties": {"options": {"type": "object", "additionalProperties": False,
                                                "properties": props}}}})
    probe: dict[str, Any] = {"type": "object", "additionalProperties": False, "required": ["kind"],
             "properties": {"name": NAME_SCHEMA, "kind": {"enum": list(probe_kinds())},
                            "client": {"type": "string"}, "server": {"type": "string"},
                            "start": DURATION, "options": {"type": "object"}},
             "allOf": probe_variants}
    assert set(probe["properties"]) == set(PROBE_KEYS)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "natsim scenario",
        "type": "object", "additionalProperties": False, "required": ["topology", "probes"],
        "properties": {
            "name": NAME_SCHEMA, "description": {"type": "string"},
            "topology": {"type": "string",
                         "description": "topology name or FILE.py[:NAME] (not shipped: needs --trust)"},
            "time_scale": {"type": "number", "exclusiveMinimum": 0,
                           "description": "real-world seconds per lab second"},
            "seed": {"type": "integer"}, "captures": {"type": "boolean"},
            "middleboxes": {"type": "object", "description": "node name -> settings of its kind",
                            "additionalProperties": {"anyOf": [
                                *(_middlebox(k) for k in kinds()),
                                *(_device(p) for p in shipped().values() if p.names)]}},
            "hosts": {"type": "object", "description": "host name -> its kernel TCP settings (real-world)",
                      "additionalProperties": _host()},
            "probes": {"type": "array", "minItems": 1, "items": probe},
            "expect": {"type": "object", "additionalProperties": {
                "type": "object", "additionalProperties": False,
                "properties": {k: _value(v) for k, v in EXPECT_KEYS.items()}}},
        },
    }


if __name__ == "__main__":
    print(json.dumps(json_schema(), indent=2))
