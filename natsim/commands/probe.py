"""``natsim probe NAME ...``: run one probe's tool. One subcommand per registered probe kind that has a
tool (:mod:`natsim.probes.tools`), plugins' kinds included."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add ``natsim probe`` and a subcommand per kind's tool."""
    from natsim.probes.registry import kinds
    from natsim.probes.tools import add_tools

    parser = sub.add_parser("probe", help="run a probe against a server (lab or real network)",
                            description="Run one probe; see `natsim probe KIND --help`.")
    add_tools(parser.add_subparsers(dest="probe_kind", metavar="KIND"), kinds())
    parser.set_defaults(func=lambda args: _no_kind(parser, args))


def _no_kind(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    parser.print_help()
    return 2
