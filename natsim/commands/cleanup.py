"""``natsim cleanup``: remove leftovers of labs whose natsim process died (e.g. SIGKILL)."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from natsim.errors import EXIT_ERROR

if TYPE_CHECKING:
    from natsim.lab.cleanup import CleanupReport
    from natsim.lab.kept import KeptLab, Registry


def register(sub: Any) -> None:
    """Add ``natsim cleanup``."""
    parser = sub.add_parser(
        "cleanup", help="remove what crashed labs left behind",
        description="Remove processes and namespaces of labs whose natsim process is gone. Only "
        "what natsim recorded is touched: processes by PID and start time, and the processes inside "
        "a lab's namespaces, reached through a recorded process that still runs - never by name "
        "pattern or bare number. Exit 0 when everything is gone, 2 when something remains. For labs "
        "built as root only: a lab built without root lives in natsim's own user namespace and the "
        "kernel removes it with natsim, whatever ends it. Labs kept up (`natsim lab up`) whose keeper "
        "runs are left alone and listed (`--lab NAME` takes one down); those whose keeper is gone are "
        "removed (root) or forgotten (without root: nothing of them is left).")
    parser.add_argument("--lab", metavar="ID", help="only this lab id, or this kept lab's name (even if "
                        "its owner or keeper still runs)")
    parser.add_argument("--list", action="store_true", help="only list recorded labs")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Clean up and report."""
    from natsim.lab.cleanup import cleanup_stale
    from natsim.lab.kept import Registry
    from natsim.lab.records import all_records

    with Registry.open(create=False) as registry:
        kept = {lab.lab_id: lab for lab in registry.entries() if lab.lab_id}
        named = next((lab for lab in kept.values() if args.lab in (lab.name, lab.lab_id)), None)
        if named is not None and not args.list:
            return _down(named, registry)
        if os.geteuid() != 0:
            print("nothing to clean up without root: a lab built without root lives in natsim's own user "
                  "namespace, which the kernel removes with natsim; labs built as root: sudo natsim cleanup")
            _kept_labs(registry, forget=not args.list)
            return 0
        if args.list:
            for record in all_records():
                state = "running" if record.owner_alive() else "stale"
                name = f"  kept as {kept[record.lab_id].name}" if record.lab_id in kept else ""
                print(f"{record.lab_id}  {record.topology:16}  owner {record.owner_pid} ({state})  "
                      f"{len(record.shells)} nodes, {len(record.processes)} processes{name}")
            return 0
        code = _report(cleanup_stale(args.lab))
        _kept_labs(registry, forget=True)
    return code


def _report(reports: list[CleanupReport]) -> int:
    """Print what each cleanup did; 2 when something remains."""
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


def _down(lab: KeptLab, registry: Registry) -> int:
    """Take kept lab ``lab`` down as ``natsim lab down`` does."""
    from natsim.lab.keeper import stop

    left = stop(lab, registry)
    if left:
        print(f"lab {lab.name} ({lab.lab_id}): could not remove {', '.join(left)}")
        return EXIT_ERROR
    print(f"lab {lab.name} ({lab.lab_id}) is down")
    return 0


def _kept_labs(registry: Registry, *, forget: bool) -> None:
    """Say which kept labs are up; forget those that are gone (``forget``)."""
    from natsim.lab.kept import Status, forget_gone

    if forget:
        for name in forget_gone(registry):
            print(f"lab {name}: its keeper was gone and nothing of it is left; forgotten")
    for lab in registry.entries():
        if lab.status() in (Status.STARTING, Status.UP, Status.STOPPING):
            print(f"lab {lab.name} ({lab.lab_id}) is {lab.status().value}, kept by process "
                  f"{lab.keeper.pid if lab.keeper else '?'}: `natsim lab down {lab.name}` removes it")
