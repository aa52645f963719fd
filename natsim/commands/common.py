"""Argument helpers shared by subcommands (``--time-scale`` is :func:`natsim.cliargs.add_time_scale`)."""

from __future__ import annotations

import argparse

from natsim.trust import TRUST_HELP


def add_trust(parser: argparse.ArgumentParser) -> None:
    """``--trust``: let the scenario or topology run its own code (see :mod:`natsim.trust`)."""
    parser.add_argument("--trust", action="store_true", help=TRUST_HELP)
