"""``natsim cleanup``: remove leftovers of labs whose natsim process died (e.g. SIGKILL)."""

from __future__ import annotations

import argparse
from typing import Any

from natsim.lab.cleanup import cleanup_stale
from natsim.lab.lab import require_root
from natsim.lab.registry import all_records


def register(sub: Any) -> None:
    """Add ``natsim cleanup``."""
    parser = sub.add_parser(
        "cleanup", help="remove what crashed labs left behind",
        description="Remove processes and namespaces of labs whose natsim process is gone. Only "
        "objects recorded by natsim (PIDs, namespace inodes) are touched, never by name pattern.")
    parser.add_argument("--lab", metavar="ID", help="only this lab id (even if its owner still runs)")
    parser.add_argument("--list", action="store_true", help="only list recorded labs")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Clean up and report."""
    require_root("natsim cleanup")
    if args.list:
        for record in all_records():
            state = "running" if record.owner_alive() else "stale"
            print(f"{record.lab_id}  {record.topology:16}  owner {record.owner_pid} ({state})  "
                  f"{len(record.shells)} nodes, {len(record.processes)} processes")
        return 0
    reports = cleanup_stale(args.lab)
    if not reports:
        print("nothing to clean up")
    failed = 0
    for report in reports:
        print(f"lab {report.lab_id}: stopped {len(report.killed)} processes"
              + (f", {len(report.remaining)} remain: {report.remaining}" if report.remaining else ""))
        failed += bool(report.remaining)
    return 1 if failed else 0
