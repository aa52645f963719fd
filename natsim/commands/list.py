"""``natsim list``: what this installation knows: topologies, shipped scenarios, middlebox and probe
kinds (from the registries, plugins included). Runs no topology or scenario file."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: Any) -> None:
    """Add ``natsim list``."""
    parser = sub.add_parser(
        "list", help="list topologies, shipped scenarios, middlebox kinds and probe kinds",
        description="List what natsim can run: topologies (shipped and in $NATSIM_TOPOLOGIES, read "
        "without executing them), shipped scenarios, and the middlebox and probe kinds registered "
        "through entry points (plugins included).")
    parser.add_argument("--json", action="store_true", help="print JSON (and nothing else) on stdout")
    parser.set_defaults(func=run)


def inventory() -> dict[str, dict[str, str]]:
    """Name → one-line description, per section."""
    from natsim.lab.topology import available_topologies
    from natsim.middleboxes.registry import kinds as middlebox_kinds
    from natsim.probes.registry import kinds as probe_kinds
    from natsim.scenario import shipped_scenarios

    return {
        "topologies": {name: str(path) for name, path in available_topologies().items()},
        "scenarios": {name: str(path) for name, path in shipped_scenarios().items()},
        "middleboxes": {name: kind.summary for name, kind in middlebox_kinds().items()},
        "probes": {name: kind.summary + ("" if kind.model else f" (not modelled: {kind.unmodelled})")
                   for name, kind in probe_kinds().items()},
    }


def run(args: argparse.Namespace) -> int:
    """Print the inventory."""
    found = inventory()
    if args.json:
        json.dump(found, sys.stdout, indent=2)
        print()
        return 0
    for section, entries in found.items():
        print(f"{section}:")
        width = max((len(n) for n in entries), default=0)
        for name, text in entries.items():
            print(f"  {name:<{width}}  {text}")
    return 0
