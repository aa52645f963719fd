"""Argument helpers shared by subcommands (``--time-scale`` is :func:`natsim.cliargs.add_time_scale`)."""

from __future__ import annotations

import argparse

from natsim.commands import BUILDS_LAB
from natsim.trust import TRUST_HELP

__all__ = ["BUILDS_LAB", "add_trust", "builds_labs"]


def builds_labs(parser: argparse.ArgumentParser) -> None:
    """Mark ``parser``'s command as one that builds labs (see :data:`BUILDS_LAB`)."""
    parser.set_defaults(**{BUILDS_LAB: True})


def add_set(parser: argparse.ArgumentParser) -> None:
    """``--set NODE.SETTING=VALUE`` (repeatable): a middlebox setting over the scenario's, or
    ``NODE.preset=NAME`` (the node's explicit settings still override the preset's)."""
    parser.add_argument("--set", action="append", default=[], metavar="NODE.SETTING=VALUE",
                        help="a middlebox setting over the scenario's (repeatable); NODE.preset=NAME "
                        "builds the node from a device preset (`natsim list presets`)")


def add_trust(parser: argparse.ArgumentParser) -> None:
    """``--trust``: let the scenario or topology run its own code (see :mod:`natsim.trust`)."""
    parser.add_argument("--trust", action="store_true", help=TRUST_HELP)
