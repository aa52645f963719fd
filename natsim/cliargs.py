"""The one declaration of each value the command line takes in several places: ``--time-scale`` and
``--set NODE.SETTING=VALUE``. Every natsim command and tool uses these."""

from __future__ import annotations

import argparse

from natsim.errors import ConfigError
from natsim.units import TimeScale


def time_scale_type(text: str) -> float:
    """argparse type of ``--time-scale S``: a positive number (real-world seconds per lab second)."""
    try:
        return TimeScale(float(text)).factor
    except (ValueError, ConfigError):
        raise argparse.ArgumentTypeError(f"expected a positive number of real-world seconds per lab "
                                         f"second, got {text!r}") from None


def add_time_scale(parser: argparse.ArgumentParser, default: float | None = 1.0, *, note: str = "") -> None:
    """``--time-scale S``: real-world seconds per lab second. ``default`` None: the scenario's own;
    ``note`` says more about what it scales in this command."""
    shown = "the scenario's" if default is None else f"{default:g}"
    parser.add_argument("--time-scale", type=time_scale_type, default=default, metavar="S",
                        help=f"real-world seconds per lab second (default {shown}" +
                        (f"; {note})" if note else ")"))


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
