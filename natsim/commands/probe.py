"""``natsim probe KIND ...``: run one probe. Each probe family registers its own subcommands.

A module listed in :data:`PROBE_MODULES` provides ``register(subparsers)`` adding one parser per
probe kind (``send``, ``recv``, ``keepalive``, ``ssh-idle``, ``ssh-first-connect``, ...).
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

#: Modules that add probe kinds.
PROBE_MODULES: tuple[str, ...] = ("natsim.probes.tcp.cli", "natsim.probes.ssh.cli")


def register(sub: Any) -> None:
    """Add ``natsim probe`` and its kinds."""
    parser = sub.add_parser("probe", help="run a probe against a server (lab or real network)",
                            description="Run one probe; see `natsim probe KIND --help`.")
    kinds = parser.add_subparsers(dest="probe_kind", metavar="KIND")
    for module in PROBE_MODULES:
        importlib.import_module(module).register(kinds)
    parser.set_defaults(func=lambda args: _no_kind(parser, args))


def _no_kind(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    parser.print_help()
    return 2
