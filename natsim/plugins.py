"""Kinds found through entry points: how the middlebox and probe registries load and look them up.

An entry point of ``group`` named ``NAME`` names an object of the registry's kind class whose ``name``
is ``NAME``; natsim's own kinds are registered the same way (pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import TypeVar

from natsim.errors import ConfigError
from natsim.fields import closest

K = TypeVar("K")


def _loaded(point: EntryPoint, group: str, cls: type[K]) -> K:
    kind = point.load()
    if not isinstance(kind, cls) or getattr(kind, "name", None) != point.name:
        raise TypeError(f"entry point {point.name} = {point.value} in group {group} is not a "
                        f"{cls.__name__} named {point.name!r}")
    return kind


def load_kinds(group: str, cls: type[K], what: str) -> dict[str, K]:
    """Every ``cls`` registered in entry-point ``group``, by name (``what`` names them in errors)."""
    found = {point.name: _loaded(point, group, cls) for point in entry_points(group=group)}
    if not found:
        raise ConfigError(f"no {what}s are registered (entry-point group {group}): is natsim "
                          "installed? (`pip install -e .` in a checkout)")
    return dict(sorted(found.items()))


def load_kind(group: str, cls: type[K], name: str) -> K | None:
    """The ``cls`` registered in entry-point ``group`` as ``name``, loading that entry point alone
    (None when there is none)."""
    points = entry_points(group=group, name=name)
    return next((_loaded(point, group, cls) for point in points), None)


def find_kind(known: Mapping[str, K], name: str, what: str) -> K:
    """The kind called ``name``; :class:`ConfigError` with the closest name when unknown."""
    try:
        return known[name]
    except KeyError:
        raise ConfigError(f"unknown {what} '{name}'{closest(name, list(known))}; "
                          f"known: {', '.join(known)}") from None
