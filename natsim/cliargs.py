"""The one parser of each value the command line takes in several places: ``--time-scale``,
durations and ``--set NODE.SETTING=VALUE``. Every natsim command and tool uses these."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from natsim.errors import ConfigError
from natsim.units import TimeScale, parse_duration


def time_scale_type(text: str) -> float:
    """argparse type of ``--time-scale S``: a positive number (real-world seconds per lab second)."""
    try:
        return TimeScale(float(text)).factor
    except (ValueError, ConfigError):
        raise argparse.ArgumentTypeError(f"expected a positive number of real-world seconds per lab "
                                         f"second, got {text!r}") from None


def duration_type(what: str) -> Callable[[str], float]:
    """argparse type of a real-world duration option (``1h``, ``2h4m``, ``90``)."""
    def parse(text: str) -> float:
        try:
            return parse_duration(text, what=what)
        except ConfigError as err:   # argparse turns it into a usage error (exit 2)
            raise argparse.ArgumentTypeError(err.message) from err
    return parse


def parse_sets(items: list[str] | None) -> dict[str, dict[str, str]]:
    """``["cpe.idle_timeout=1h"]`` → ``{"cpe": {"idle_timeout": "1h"}}`` (``--set``, repeatable)."""
    settings: dict[str, dict[str, str]] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        node, dot, name = key.partition(".")
        if not sep or not dot or not node.strip() or not name.strip() or not value.strip():
            raise ConfigError(f"--set {item!r}: expected NODE.SETTING=VALUE, e.g. cpe.idle_timeout=1h")
        settings.setdefault(node.strip(), {})[name.strip()] = value.strip()
    return settings
