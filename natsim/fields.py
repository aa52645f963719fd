"""Typed settings declared once: dataclass fields carrying how to parse them.

Middlebox configs and probe options are frozen dataclasses whose user-settable fields are declared
with :func:`duration_field`, :func:`choice_field` or :func:`plain_field`. The metadata is the one
declaration of a setting: the scenario loader, ``--set``, CLI flags, the JSON schema, ``describe()``
(:class:`Settings`) and the settings tables in ``docs/`` all read it. Unknown keys are refused with
the closest valid key suggested.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
from collections.abc import Callable, Mapping
from dataclasses import field
from typing import Any, Protocol, TypeVar, runtime_checkable

from natsim.addresses import check_lab_address
from natsim.errors import ConfigError, OptionError
from natsim.units import format_duration, parse_duration


def duration_field(default: float | None, doc: str, *, optional: bool = False, **extra: Any) -> Any:
    """A dataclass field holding real-world seconds, parsed from ``'1h'`` style text.

    ``extra`` metadata: ``allow_zero``; ``unset`` (what None means, for :func:`shown`); ``cli`` (the
    flag name, ``None``: no flag) for probe options.
    """
    return field(default=default, metadata={"parse": "duration", "doc": doc, "optional": optional, **extra})


def choice_field(default: Any, doc: str, enum_type: type[enum.Enum], **extra: Any) -> Any:
    """A dataclass field holding one member of ``enum_type``."""
    return field(default=default, metadata={"parse": "enum", "enum": enum_type, "doc": doc, **extra})


def plain_field(default: Any, doc: str, parse: str, **extra: Any) -> Any:
    """A dataclass field parsed as ``bool``, ``int``, ``str``, ``node``, ``address``, ``public-prefix``,
    ``port-range``, ``str-list``, ``duration-range``, ``ports`` or ``choice`` (with ``choices``).

    ``extra`` metadata: ``minimum``/``maximum`` (int), ``choices``, ``optional`` (None allowed),
    ``list_only``/``item`` (``str-list``: refuse comma-separated text, name an item in that error),
    ``unset`` (what None or an empty value means, for :func:`shown`), ``cli``/``cli_action`` (probe
    options' command-line flag).
    """
    return field(default=default, metadata={"parse": parse, "doc": doc, **extra})


def closest(name: str, valid: list[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest valid name, or ``""``."""
    match = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


Parser = Callable[[str, Mapping[str, Any], Any], Any]


def _duration(what: str, spec: Mapping[str, Any], raw: Any) -> float:
    return parse_duration(raw, what=what, allow_zero=bool(spec.get("allow_zero")))


def _choice(what: str, spec: Mapping[str, Any], raw: Any) -> str:
    if str(raw) not in spec["choices"]:
        raise ConfigError(f"{what}: {raw!r} is not one of {', '.join(spec['choices'])}"
                          f"{closest(str(raw), list(spec['choices']))}")
    return str(raw)


def _duration_range(what: str, spec: Mapping[str, Any], raw: Any) -> tuple[float, float]:
    parts = raw if isinstance(raw, list | tuple) else str(raw).replace("..", "-").split("-")
    if len(parts) != 2:
        raise ConfigError(f"{what}: expected a range like '3720s-3840s', got {raw!r}")
    lo, hi = (parse_duration(p, what=what) for p in parts)
    if lo > hi:
        raise ConfigError(f"{what}: range {raw!r} has its lower end above its upper end")
    return (lo, hi)


def _enum(what: str, spec: Mapping[str, Any], raw: Any) -> enum.Enum:
    enum_type: type[enum.Enum] = spec["enum"]
    values = [m.value for m in enum_type]
    if str(raw) not in values:
        raise ConfigError(f"{what}: {raw!r} is not one of {', '.join(values)}{closest(str(raw), values)}")
    return enum_type(str(raw))


def _bool(what: str, spec: Mapping[str, Any], raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if str(raw).lower() in _TRUE | _FALSE:
        return str(raw).lower() in _TRUE
    raise ConfigError(f"{what}: expected true or false, got {raw!r}")


def _int(what: str, spec: Mapping[str, Any], raw: Any) -> int:
    try:
        value = int(str(raw), 0)
    except ValueError as err:
        raise ConfigError(f"{what}: expected a whole number, got {raw!r}") from err
    minimum = spec.get("minimum", 0)
    if value < minimum:
        raise ConfigError(f"{what}: must not be negative, got {raw!r}" if minimum == 0 else
                          f"{what}: must be at least {minimum}, got {raw!r}")
    if "maximum" in spec and value > spec["maximum"]:
        raise ConfigError(f"{what}: must be at most {spec['maximum']}, got {raw!r}")
    return value


def _port_range(what: str, spec: Mapping[str, Any], raw: Any) -> tuple[int, int]:
    text = str(raw)
    try:
        lo, hi = (int(p) for p in text.split("-")) if "-" in text else (int(text), int(text))
    except ValueError as err:
        raise ConfigError(f"{what}: expected a port range like '1024-65535', got {raw!r}") from err
    if not 1 <= lo <= hi <= 65535:
        raise ConfigError(f"{what}: port range {raw!r} must satisfy 1 <= low <= high <= 65535")
    return (lo, hi)


def _ports(what: str, spec: Mapping[str, Any], raw: Any) -> tuple[int, ...]:
    items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    ports = []
    for item in items:
        try:
            port = int(str(item).strip())
        except ValueError as err:
            raise ConfigError(f"{what}: expected port numbers, got {raw!r}") from err
        if not 1 <= port <= 65535:
            raise ConfigError(f"{what}: port {port} out of range 1..65535")
        ports.append(port)
    return tuple(ports)


def _str_list(what: str, spec: Mapping[str, Any], raw: Any) -> tuple[str, ...]:
    """Items of a list; text is split at commas, unless ``list_only`` (items hold commas themselves)."""
    if spec.get("list_only") and not isinstance(raw, list | tuple):
        raise ConfigError(f"{what}: expected a list, one item per {spec.get('item', 'value')}, got "
                          f"{raw!r}; write it as a list: [{str(raw)!r}] (or one '- item' per line)")
    items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    for i, item in enumerate(items):
        if isinstance(item, dict | list | tuple):
            raise OptionError(f"{what}: item {i + 1} is not text: {item!r}", path=(i,))
    return tuple(str(i).strip() for i in items if str(i).strip())


def _findings(what: str, spec: Mapping[str, Any], raw: Any) -> dict[str, str | bool | int | None]:
    """A mapping of a probe's findings (its result's ``extra``) to plain values."""
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{what}: expected a mapping of findings to values, e.g. {{mapping: "
                          f"endpoint-independent}}, got {raw!r}")
    for key, value in raw.items():
        if value is not None and not isinstance(value, str | bool | int):
            raise OptionError(f"{what}.{key}: expected text, true/false, a number or null, got {value!r}",
                              path=(str(key),))
    return {str(k): v for k, v in raw.items()}


#: Field parser name → parser.
PARSERS: dict[str, Parser] = {
    "duration": _duration, "choice": _choice, "duration-range": _duration_range, "enum": _enum,
    "bool": _bool, "int": _int, "port-range": _port_range, "ports": _ports, "str-list": _str_list,
    "findings": _findings,
    "address": lambda what, spec, raw: check_lab_address(str(raw), what=what),
    "public-prefix": lambda what, spec, raw: check_lab_address(str(raw), what=what, public=True),
    "str": lambda what, spec, raw: str(raw),
    "node": lambda what, spec, raw: str(raw),   # a node of the topology (the scenario loader checks it)
}


def parse_value(what: str, spec: Mapping[str, Any], raw: Any) -> Any:
    """Parse ``raw`` for a field whose metadata is ``spec``; ``what`` names it in errors."""
    if raw is None and spec.get("optional"):
        return None
    try:
        parser = PARSERS[spec["parse"]]
    except KeyError:
        raise AssertionError(f"unknown field parser {spec['parse']}") from None
    return parser(what, spec, raw)


M = TypeVar("M")


@runtime_checkable
class Validated(Protocol):
    """A config that checks its settings together (an optional ability, declared by subclassing)."""

    def validate(self) -> None:
        """Raise :class:`ConfigError` for values that make no sense together."""
        ...


def validate(config: object) -> None:
    """Run ``config``'s own check across settings, when it declares one (:class:`Validated`)."""
    if isinstance(config, Validated):
        config.validate()


def config_from_mapping(cls: type[M], values: Mapping[str, Any], *, prefix: str = "") -> M:
    """Build the config dataclass ``cls`` from user values (YAML or ``--set``), parsing each field.

    Unknown keys raise :class:`ConfigError` with the closest valid key suggested.
    """
    fields = {f.name: f for f in settings(cls)}
    kwargs = {}
    for key, raw in values.items():
        if key not in fields:
            raise ConfigError(f"unknown setting '{prefix}{key}' for {getattr(cls, 'kind', cls.__name__)}"
                              f"{closest(key, sorted(fields))}; valid: {', '.join(sorted(fields))}")
        kwargs[key] = parse_value(prefix + key, fields[key].metadata, raw)
    config = cls(**kwargs)
    validate(config)
    return config


def settings(cls: type[Any]) -> list[dataclasses.Field[Any]]:
    """The user-settable fields of a config or options class, in declaration order."""
    return [f for f in dataclasses.fields(cls) if f.init and "parse" in f.metadata]


# ---- showing settings: describe(), maps, reports and the generated tables in docs/ -----------------

def shown(spec: Mapping[str, Any], value: Any) -> str:
    """A setting's value as people read it, from its field's metadata ``spec``: durations in real-world
    units (``2h4m``), ranges as ``1024-65535`` (ports) or ``1h2m..1h4m`` (durations), lists joined by
    commas; None or an empty value shows the field's ``unset`` text (``-`` when it has none)."""
    if value is None or value in ((), ""):
        return str(spec.get("unset", "-"))
    parse = spec["parse"]
    if parse == "duration":
        return format_duration(value)
    if parse == "duration-range":
        return f"{format_duration(value[0])}..{format_duration(value[1])}"
    if parse == "port-range":
        return f"{value[0]}-{value[1]}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, tuple | list):
        return ",".join(str(v) for v in value)
    return str(value)


def describe_settings(config: Any) -> list[tuple[str, str]]:
    """(setting, value) of every setting of ``config``, as :func:`shown` writes them."""
    return [(f.name, shown(f.metadata, getattr(config, f.name))) for f in settings(type(config))]


def meaning(spec: Mapping[str, Any]) -> str:
    """A setting's doc, with the values it takes when they are a closed set."""
    values = spec.get("choices") or ([m.value for m in spec["enum"]] if "enum" in spec else None)
    return str(spec["doc"]) + (f" (one of {', '.join(values)})" if values else "")


def settings_table(cls: type[Any]) -> str:
    """The settings of ``cls`` as a markdown table (setting, default, meaning): docs/middleboxes.md
    holds one per kind, kept current by a test."""
    lines = ["| setting | default | meaning |", "| --- | --- | --- |"]
    for f in settings(cls):
        default = shown(f.metadata, f.default)
        cell = default if f.default in (None, (), "") else f"`{default}`"
        lines.append(f"| `{f.name}` | {_cell(cell)} | {_cell(meaning(f.metadata))} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


class Settings(Validated):
    """Base of natsim's config and options classes: a check across settings (none by default) and
    ``describe()`` generated from the fields' metadata."""

    def validate(self) -> None:
        """Raise :class:`ConfigError` for values that make no sense together (none by default)."""

    def describe(self) -> list[tuple[str, str]]:
        """(setting, value) of every setting, in real-world units (for maps and reports)."""
        return describe_settings(self)
