"""Presets: real devices as data, one YAML file each (``presets/NAME.yaml``), no Python.

A preset names its kind, a short description of the device, the settings that make the kind behave
as the device does, the sources of those numbers (a document title or URL, the date it was read, and
``weak: true`` where the source is secondary: the preset is then approximate) and a note saying what
the kind cannot express. Adding a device is adding one file::

    kind: load-balancer
    device: AWS Network Load Balancer (TCP listener)
    settings:
      idle_timeout: 350s
      expired: reset-next-packet
    sources:
      - title: 'AWS ELB docs "Update the TCP idle timeout"'
        read: 2026-12
    note: TCP listeners take 60 s to 6000 s; set idle_timeout to yours.

Presets are looked up in ``$NATSIM_PRESETS`` (colon-separated directories), then in natsim's own
``presets/`` (first wins). A preset file is data: it is read with :mod:`natsim.yamlpos` (plain values
only, no tags) and its settings are parsed by its kind's own config class, so it can never run anything
and needs no ``--trust``; every error in one names ``file:line:col``.

:func:`configure` builds a node's config from user values that may hold ``preset: NAME``: the preset's
settings first, the explicit ones over them.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from natsim.errors import ConfigError, ScenarioError
from natsim.fields import closest, validate
from natsim.fields import settings as setting_fields
from natsim.middleboxes.base import DeviceConfig, Middlebox, Preset, Source, with_preset
from natsim.middleboxes.registry import build_config, kind, kinds
from natsim.shipped import PRESETS
from natsim.yamlpos import Located, check_keys, load_file

#: The key of a node's settings that names a preset.
PRESET_KEY = "preset"
#: The keys a preset file must have, those it may have, and those of one of its sources.
FILE_KEYS = ("kind", "device", "settings", "sources", "note")
OPTIONAL_KEYS = ("names",)
SOURCE_KEYS = ("title", "read", "weak")


def preset_dirs() -> list[Path]:
    """Where presets are looked up: ``$NATSIM_PRESETS`` (colon-separated), then natsim's own."""
    dirs = [Path(p) for p in os.environ.get("NATSIM_PRESETS", "").split(":") if p]
    dirs.append(PRESETS)
    return dirs


def available() -> dict[str, Path]:
    """Preset name → its file, over every preset directory (the first directory holding a name wins).
    Reads no file."""
    found: dict[str, Path] = {}
    for directory in preset_dirs():
        if directory.is_dir():
            for path in directory.glob("*.yaml"):
                found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def _text(doc: Located, path: tuple[str | int, ...], value: Any, what: str) -> str:
    if isinstance(value, datetime.date):   # YAML reads 2026-12-01 as a date
        return value.isoformat()
    if not isinstance(value, str | int | float) or isinstance(value, bool) or not str(value).strip():
        raise doc.error(path, f"{what} must be non-empty text, got {value!r}")
    return str(value).strip()


def _sources(doc: Located, raw: Any) -> tuple[Source, ...]:
    if not isinstance(raw, list) or not raw:
        raise doc.error(("sources",), "sources must be a non-empty list (title, read, weak)")
    sources = []
    for i, item in enumerate(raw):
        where = ("sources", i)
        entry = check_keys(doc, where, item, SOURCE_KEYS, "a source")
        for required in ("title", "read"):
            if required not in entry:
                raise doc.error(where, f"a source needs '{required}'")
        weak = entry.get("weak", False)
        if not isinstance(weak, bool):
            raise doc.error((*where, "weak"), f"weak must be true or false, got {weak!r}")
        sources.append(Source(_text(doc, (*where, "title"), entry["title"], "title"),
                              _text(doc, (*where, "read"), entry["read"], "read"), weak))
    return tuple(sources)


def _settings(doc: Located, kind_name: str, raw: Any) -> dict[str, Any]:
    """The preset's settings, each checked by the kind's own parser with the ones above it (an error is
    at the first setting that makes one), then together."""
    if not isinstance(raw, dict):
        raise doc.error(("settings",), f"settings must be a mapping, got {type(raw).__name__}")
    values: dict[str, Any] = raw
    above: dict[str, Any] = {}
    for key, value in values.items():
        above[key] = value
        try:
            build_config(kind_name, above)
        except ConfigError as err:
            unknown = err.message.startswith("unknown setting")
            raise doc.error(("settings", key), err.message, key=unknown) from err
    try:
        build_config(kind_name, values)
    except ConfigError as err:
        raise doc.error(("settings",), err.message) from err
    return values


def _names(doc: Located, config: type[Any], raw: Any) -> tuple[tuple[str, str], ...]:
    """``names:``: the device's own name → the kind's setting it stands for; an own name must not be a
    setting of the kind (it would hide it), a setting must be one."""
    if not isinstance(raw, dict):
        raise doc.error(("names",), f"names must be a mapping (own name: the kind's setting), got {raw!r}")
    known = {f.name for f in setting_fields(config)}
    for own, setting in raw.items():
        if not isinstance(own, str) or own in known:
            raise doc.error(("names", own), f"'{own}' is a setting of the kind itself: it needs no name",
                            key=True)
        if setting not in known:
            hint = closest(str(setting), sorted(known))
            raise doc.error(("names", own), f"'{setting}' is no setting of the kind{hint}")
    return tuple(raw.items())


def parse_preset(doc: Located, name: str) -> Preset:
    """A parsed preset file as a :class:`Preset`; every error names ``file:line:col``."""
    data = check_keys(doc, (), doc.data, FILE_KEYS + OPTIONAL_KEYS, "a preset")
    for required in FILE_KEYS:
        if required not in data:
            raise doc.error((), f"a preset needs '{required}' (keys: {', '.join(FILE_KEYS)})")
    kind_name = _text(doc, ("kind",), data["kind"], "kind")
    try:
        found = kind(kind_name)
    except ConfigError as err:
        raise doc.error(("kind",), err.message) from err
    if not issubclass(found.config, DeviceConfig):
        raise doc.error(("kind",), f"kind {kind_name} takes no presets (its config is not a DeviceConfig)")
    settings = _settings(doc, kind_name, data["settings"] or {})
    names = _names(doc, found.config, data.get("names") or {})
    where = []
    for key in settings:
        line, col = doc.where(("settings", key))
        where.append((key, f"{doc.source}:{line}:{col}"))
    return Preset(name=name, kind=kind_name, device=_text(doc, ("device",), data["device"], "device"),
                  settings=tuple(settings.items()), sources=_sources(doc, data["sources"]),
                  note=" ".join(_text(doc, ("note",), data["note"], "note").split()), path=doc.source,
                  where=tuple(where), names=names)


def load_preset(path: Path) -> Preset:
    """Read and check the preset file ``path`` (its name is the file's stem)."""
    return parse_preset(load_file(path), path.stem)


def find(name: str) -> Preset:
    """The preset called ``name``; :class:`ConfigError` with the closest name when there is none."""
    known = available()
    if name not in known:
        raise ConfigError(f"unknown preset '{name}'{closest(name, sorted(known))}; "
                          f"known: {', '.join(sorted(known))} (`natsim list presets`)")
    return load_preset(known[name])


def presets() -> dict[str, Preset]:
    """Every preset, by name (each file checked)."""
    return {name: load_preset(path) for name, path in available().items()}


def shipped() -> dict[str, Preset]:
    """natsim's own presets (``presets/``), by name."""
    return {path.stem: load_preset(path) for path in sorted(PRESETS.glob("*.yaml"), key=lambda p: p.stem)}


def _kind_of(path: Path) -> str | None:
    """The kind of the preset file ``path``, None when it cannot be read (for suggestions only)."""
    try:
        return load_preset(path).kind
    except ConfigError:
        return None


def for_kind(name: str, kind_name: str) -> Preset:
    """The preset ``name``, which must be one of kind ``kind_name``'s."""
    preset = find(name)
    if preset.kind != kind_name:
        same = sorted(n for n, path in available().items() if _kind_of(path) == kind_name)
        raise ConfigError(f"preset '{name}' is a {preset.kind} preset, not a {kind_name} one; "
                          f"{kind_name} presets: {', '.join(same) or 'none'}")
    return preset


def resolve(name: str) -> tuple[str, str | None]:
    """(kind, preset) a name stands for where a kind is expected (a topology's role, a lab's settings):
    a kind is itself; a device preset's name is its kind with that preset (``cgn`` → ``nat``, preset
    ``cgn``). An unknown name: :class:`ConfigError` with the closest kind or preset."""
    if name in kinds():
        return name, None
    if name not in available():
        known = sorted([*kinds(), *available()])
        raise ConfigError(f"unknown middlebox kind '{name}'{closest(name, known)}; known: "
                          f"{', '.join(sorted(kinds()))}, or a device preset (`natsim list presets`)")
    return find(name).kind, name


def own_names(preset: Preset | None, values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``values`` with the device's own setting names (``preset.names``) turned into the kind's."""
    names = dict(preset.names) if preset is not None else {}
    renamed: dict[str, Any] = {}
    for key, value in values.items():
        setting = names.get(key, key)
        if setting in renamed and preset is not None:
            raise ConfigError(f"{prefix}{setting}: set {preset.device_names[setting]} ({preset.name}'s name "
                              f"for it) or {setting}, not both")
        renamed[setting] = value
    return renamed


def in_own_words(message: str, preset: Preset | None, prefix: str = "") -> str:
    """An error ``message`` about the kind's settings, in the device's own names: ``NODE.subscribers``
    for ``NODE.inside``, and ``cgn.subscribers`` for the kind's own ``nat.inside``."""
    if preset is None:
        return message
    for setting, own in preset.device_names.items():
        if prefix:
            message = message.replace(f"{prefix}{setting}", f"{prefix}{own}")
        message = message.replace(f"{preset.kind}.{setting}", f"{preset.name}.{own}")
    return message


def _own_words(err: ConfigError, preset: Preset, prefix: str) -> ConfigError:
    """``err`` (its own class: a DurationError stays one) in the device's own names."""
    message = in_own_words(err.message, preset, prefix)
    return err if message == err.message else type(err)(message)


def configure(kind_name: str, values: Mapping[str, Any], *, prefix: str = "") -> Middlebox:
    """The config of kind ``kind_name`` (or of the kind of the device preset so named) from user
    ``values`` (YAML or ``--set``): the settings of the preset named by ``values['preset']`` (if any),
    the other values over them, under the kind's names or the device's own (``names:``)."""
    kind_name, role_preset = resolve(kind_name)
    values = dict(values)
    name = values.pop(PRESET_KEY, role_preset)
    role = name is not None and name == role_preset
    if name is None:
        return build_config(kind_name, values, prefix=prefix)
    if not issubclass(kinds()[kind_name].config, DeviceConfig):
        raise ConfigError(f"{prefix}{PRESET_KEY}: kind {kind_name} takes no presets")
    try:
        preset = for_kind(str(name), kind_name)
    except ScenarioError:   # the preset file itself is wrong: its own file:line:col
        raise
    except ConfigError as err:
        raise ConfigError(f"{prefix}{PRESET_KEY}: {err.message}") from err
    try:
        config = build_config(kind_name, {**dict(preset.settings), **own_names(preset, values, prefix)},
                              prefix=prefix)
    except ConfigError as err:
        raise _own_words(err, preset, prefix) from err
    assert isinstance(config, DeviceConfig)
    return with_preset(config, preset, role=role)


def device(name: str, **overrides: Any) -> Middlebox:
    """The config of device preset ``name`` with ``overrides`` (typed values, as the config's fields
    hold them: seconds, enums; the device's own names allowed): ``device("cgn", idle_timeout=3600.0)``."""
    preset = find(name)
    base = configure(preset.kind, {PRESET_KEY: name})
    try:
        config = dataclasses.replace(base, **own_names(preset, overrides))  # type: ignore[type-var]
        validate(config)
        assert isinstance(config, DeviceConfig)
    except ConfigError as err:
        raise _own_words(err, preset, f"{name}.") from err
    return with_preset(config, preset)


def preset_of(config: Any) -> Preset | None:
    """The preset ``config`` was built from, if any."""
    return config.preset if isinstance(config, DeviceConfig) else None


def chosen_preset(config: Any) -> Preset | None:
    """The preset maps and results name for ``config``: the one its settings chose, or the one its
    node's role names when that one is approximate (a role preset otherwise goes without saying: the
    node is what its topology says, as a ``cgn`` always was). None: no preset to name."""
    preset = preset_of(config)
    return None if preset is None or (config.preset_is_role and not preset.approximate) else preset


def record(preset: Preset) -> dict[str, Any]:
    """What maps and results keep of a preset: name, device, approximate, sources (described)."""
    return {"name": preset.name, "device": preset.device, "approximate": preset.approximate,
            "sources": [src.describe() for src in preset.sources]}


def used(middleboxes: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Node → :func:`record` of the preset each config names (:func:`chosen_preset`)."""
    return {node: record(preset) for node, config in middleboxes.items()
            if (preset := chosen_preset(config)) is not None}


__all__ = ["PRESET_KEY", "available", "chosen_preset", "configure", "device", "find", "for_kind",
           "in_own_words", "load_preset", "own_names", "parse_preset", "preset_dirs", "preset_of", "presets",
           "record", "resolve", "shipped", "used"]
