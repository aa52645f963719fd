"""Argument helpers shared by subcommands."""

from __future__ import annotations

import argparse
from typing import Any

from natsim.errors import ConfigError
from natsim.trust import TRUST_HELP
from natsim.units import TimeScale


def add_time_scale(parser: argparse.ArgumentParser, default: float | None = None) -> None:
    """``--time-scale S``: real-world seconds per lab second."""
    parser.add_argument("--time-scale", type=str, default=default, metavar="S",
                        help="real-world seconds per lab second (60: 1 h runs in 1 min)")


def add_trust(parser: argparse.ArgumentParser) -> None:
    """``--trust``: let the scenario or topology run its own code (see :mod:`natsim.trust`)."""
    parser.add_argument("--trust", action="store_true", help=TRUST_HELP)


def time_scale(value: Any, default: float = 1.0) -> TimeScale:
    """Parse a ``--time-scale`` value into a :class:`TimeScale` (ConfigError when invalid)."""
    if value is None:
        return TimeScale(default)
    try:
        factor = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"--time-scale: expected a positive number, got {value!r}") from None
    try:
        return TimeScale(factor)
    except ConfigError as err:
        raise ConfigError(f"--time-scale: {err.message}") from None


def parse_sets(items: list[str] | None) -> dict[str, dict[str, str]]:
    """``["cpe.idle_timeout=1h"]`` → ``{"cpe": {"idle_timeout": "1h"}}``."""
    settings: dict[str, dict[str, str]] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        node, dot, name = key.partition(".")
        if not sep or not dot or not node or not name or not value:
            raise ConfigError(f"--set {item!r}: expected NODE.SETTING=VALUE, e.g. cpe.idle_timeout=1h")
        settings.setdefault(node.strip(), {})[name.strip()] = value.strip()
    return settings
