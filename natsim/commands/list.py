"""``natsim list [SECTION]``: what this installation knows: topologies, shipped scenarios, middlebox and
probe kinds (from the registries, plugins included), device presets (with their kind and sources). Runs
no topology or scenario file; preset files are data, read and checked."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: Any) -> None:
    """Add ``natsim list``."""
    parser = sub.add_parser(
        "list", help="list topologies, shipped scenarios, middlebox kinds, probe kinds and device presets",
        description="List what natsim can run: topologies (shipped and in $NATSIM_TOPOLOGIES, read "
        "without executing them), shipped scenarios, the middlebox and probe kinds registered "
        "through entry points (plugins included), and device presets (shipped and in $NATSIM_PRESETS) "
        "with their kind and sources; APPROXIMATE marks a preset resting on a secondary source.",
        epilog="example: natsim list presets")
    parser.add_argument("section", nargs="?", choices=SECTIONS, help="list only this section")
    parser.add_argument("--json", action="store_true", help="print JSON (and nothing else) on stdout")
    parser.set_defaults(func=run)


#: The sections, in the order they are printed.
SECTIONS = ("topologies", "scenarios", "middleboxes", "probes", "presets")


def preset_entries() -> dict[str, str]:
    """Preset name → ``KIND  DEVICE; sources: ...`` (``APPROXIMATE`` first when a source is [weak])."""
    from natsim.middleboxes.presets import presets

    return {name: f"{p.kind:<14} " + ("APPROXIMATE " if p.approximate else "") + f"{p.device}; sources: "
            + "; ".join(src.describe() for src in p.sources) for name, p in presets().items()}


def inventory(only: str | None = None) -> dict[str, dict[str, str]]:
    """Name → one-line description, per section (``only``: that section alone)."""
    from natsim.lab.topology import available_topologies
    from natsim.middleboxes.registry import kinds as middlebox_kinds
    from natsim.probes.registry import kinds as probe_kinds
    from natsim.scenario import shipped_scenarios

    sections = {
        "topologies": lambda: {name: str(path) for name, path in available_topologies().items()},
        "scenarios": lambda: {name: str(path) for name, path in shipped_scenarios().items()},
        "middleboxes": lambda: {name: kind.summary for name, kind in middlebox_kinds().items()},
        "probes": lambda: {name: kind.summary + ("" if kind.model else f" (not modelled: {kind.unmodelled})")
                           for name, kind in probe_kinds().items()},
        "presets": preset_entries,
    }
    return {name: sections[name]() for name in SECTIONS if only in (None, name)}


def run(args: argparse.Namespace) -> int:
    """Print the inventory."""
    found = inventory(args.section)
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
