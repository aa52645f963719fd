"""Middlebox registry: kind name → config class. Each middlebox lives in its own module."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from natsim.errors import ConfigError
from natsim.middleboxes.base import Middlebox, closest, config_from_mapping

_REGISTRY: dict[str, type[Any]] = {}

C = TypeVar("C")


def register(cls: type[C]) -> type[C]:
    """Class decorator: make a middlebox config available under its ``kind``."""
    kind: str = cls.kind  # type: ignore[attr-defined]
    if kind in _REGISTRY and _REGISTRY[kind] is not cls:
        raise ValueError(f"middlebox kind {kind!r} registered twice")
    _REGISTRY[kind] = cls
    return cls


def kinds() -> list[str]:
    """All registered middlebox kinds."""
    _load_builtins()
    return sorted(_REGISTRY)


def config_class(kind: str) -> type[Any]:
    """The config class registered as ``kind``."""
    _load_builtins()
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise ConfigError(f"unknown middlebox kind '{kind}'{closest(kind, sorted(_REGISTRY))}; "
                          f"known: {', '.join(sorted(_REGISTRY))}") from None


def build_config(kind: str, values: Mapping[str, Any], *, prefix: str = "") -> Middlebox:
    """Parse ``values`` into the config of ``kind``."""
    return config_from_mapping(config_class(kind), values, prefix=prefix)  # type: ignore[no-any-return]


def _load_builtins() -> None:
    from natsim.middleboxes import cgn, cpe_bridge, home_router, ssh_proxy  # noqa: F401
