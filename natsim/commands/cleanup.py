"""``natsim cleanup``: remove leftovers of labs whose natsim process died (e.g. SIGKILL)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from natsim.errors import EXIT_ERROR


def register(sub: Any) -> None:
    """Add ``natsim cleanup``."""
    parser = sub.add_parser(
        "cleanup", help="remove what crashed labs left behind",
        description="Remove processes and namespaces of labs whose natsim process is gone. Only "
        "what natsim recorded is touched: processes by PID and start time, and the processes inside "
        "a lab's namespaces, reached through a recorded process that still runs - never by name "
        "pattern or bare number. Exit 0 when everything is gone, 2 when something remains. For labs "
        "built as root only: a lab built without root lives in natsim's own user namespace and the "
        "kernel removes it with natsim, whatever ends it.")
    parser.add_argument("--lab", metavar="ID", help="only this lab id (even if its owner still runs)")
    parser.add_argument("--list", action="store_true", help="only list recorded labs")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Clean up and report."""
    from natsim.lab.cleanup import cleanup_stale
    from natsim.lab.records import all_records

    if os.geteuid() != 0:
        print("nothing to clean up without root: a lab built without root lives in natsim's own user "
              "namespace, which the kernel removes with natsim; labs built as root: sudo natsim cleanup")
        return 0
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
        for node in report.untrusted:
            print(f"lab {report.lab_id}: node {node}: no recorded process is left in its namespace, so "
                  "natsim cannot tell its processes from others' and leaves it alone "
                  "(see `lsns -t net`)")
        failed += bool(report.remaining)
    return EXIT_ERROR if failed else 0
