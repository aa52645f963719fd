"""Argument helpers shared by subcommands."""

from __future__ import annotations

import argparse

from natsim.cliargs import time_scale_type
from natsim.trust import TRUST_HELP
from natsim.units import TimeScale

#: Set in a parsed command line when the command builds a lab: the ``natsim`` command then enters
#: natsim's own namespaces first when it is not root (:mod:`natsim.lab.userns`).
BUILDS_LAB = "natsim_builds_lab"


def builds_labs(parser: argparse.ArgumentParser) -> None:
    """Mark ``parser``'s command as one that builds labs (see :data:`BUILDS_LAB`)."""
    parser.set_defaults(**{BUILDS_LAB: True})


def add_time_scale(parser: argparse.ArgumentParser, default: float | None = None) -> None:
    """``--time-scale S``: real-world seconds per lab second."""
    parser.add_argument("--time-scale", type=time_scale_type, default=default, metavar="S",
                        help="real-world seconds per lab second (60: 1 h runs in 1 min)")


def add_trust(parser: argparse.ArgumentParser) -> None:
    """``--trust``: let the scenario or topology run its own code (see :mod:`natsim.trust`)."""
    parser.add_argument("--trust", action="store_true", help=TRUST_HELP)


def time_scale(value: float | None, default: float = 1.0) -> TimeScale:
    """The :class:`TimeScale` of a parsed ``--time-scale`` (``default`` when not given)."""
    return TimeScale(default if value is None else value)
