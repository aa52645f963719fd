"""Removing what a lab created: recorded processes (PID + start time) and the processes inside the
namespaces the lab holds.

Used by the lab's own teardown (which holds its namespaces from the moment each node exists) and by
``natsim cleanup`` after a crash (SIGKILL). Nothing is matched by name pattern or by a bare number:
a crash cleanup takes hold of a node's namespace only through a recorded process that still runs
(same PID, same start time) and whose namespace is the one recorded; a namespace with no such process
left is reported and not touched, because nothing then tells its processes from anybody else's.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import dataclass, field

from natsim.lab.home import LabHome, remove_private_dir
from natsim.lab.netns import (
    HeldNamespace,
    kill_all_members,
    members_of,
    own_identities,
    signal_entry,
    wait_exited,
)
from natsim.lab.records import ANCHOR, LabRecord, ProcessEntry, all_records, running


@dataclass
class CleanupReport:
    """What a cleanup removed, and what it could not."""

    lab_id: str
    killed: list[int] = field(default_factory=list)
    remaining: list[int] = field(default_factory=list)
    untrusted: list[str] = field(default_factory=list)   # nodes whose namespace could not be held


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait until none of ``pids`` runs (our own zombies are reaped); the ones still running."""
    wait_exited(pids, timeout)
    return [p for p in pids if running(p)]


def _wait_entries(entries: list[ProcessEntry], timeout: float) -> None:
    """Wait until none of the recorded processes (PID *and* start time) runs."""
    wait_exited([e.pid for e in entries if e.alive()], timeout)
    for entry in entries:
        entry.alive()   # reaps our own zombies


def stop_process(entry: ProcessEntry, grace: float = 1.0) -> None:
    """SIGTERM ``entry`` (its process group if it leads one), SIGKILL after ``grace`` seconds."""
    if signal_entry(entry, signal.SIGTERM, group=True):
        _wait_entries([entry], grace)
        if signal_entry(entry, signal.SIGKILL, group=True):
            _wait_entries([entry], 1.0)


def hold_recorded(record: LabRecord) -> tuple[dict[str, HeldNamespace], list[str]]:
    """Take hold of each recorded namespace through a recorded process still running in it.

    Returns the held namespaces by node and the nodes that could not be held (no recorded process
    left, or the process is no longer in the recorded namespace).
    """
    held: dict[str, HeldNamespace] = {}
    untrusted: list[str] = []
    own = own_identities()
    for node, inode in record.namespaces.items():
        for entry in [e for e in [*record.shells, *record.processes] if e.node == node]:
            ns = HeldNamespace.of_process(entry)
            if ns is None:
                continue
            if ns.inode == inode and ns.identity not in own:
                held[node] = ns
                break
            ns.close()
        else:
            untrusted.append(node)
    return held, untrusted


def destroy(record: LabRecord, held: Mapping[str, HeldNamespace] | None = None,
            grace: float = 0.5) -> CleanupReport:
    """Stop every recorded process of ``record`` and empty its namespaces, then delete the record, the
    lab's home and (unless this is the lab's own teardown) the run's recorded work directory.

    ``held``: the namespaces the lab holds (its own teardown); without it they are taken hold of
    through recorded processes (:func:`hold_recorded`) and released at the end.
    """
    report = CleanupReport(record.lab_id)
    own_hold = held is None
    if held is None:
        held, report.untrusted = hold_recorded(record)
    try:
        everything = [*record.processes, *record.shells]
        for entry in record.processes:   # a grace period for what ran in the lab, none for anchors
            sig = signal.SIGKILL if entry.what == ANCHOR else signal.SIGTERM
            if signal_entry(entry, sig, group=True):
                report.killed.append(entry.pid)
        for entry in record.shells:
            signal_entry(entry, signal.SIGKILL)
        _wait_entries(everything, grace)
        for entry in everything:
            signal_entry(entry, signal.SIGKILL)
        _wait_entries(everything, 1.0)   # also reaps our zombies
        for attempt in range(3):   # one pass over /proc finds what else is inside, and then none
            hit = kill_all_members(held.values())
            report.killed.extend(p for p in hit if p not in report.killed)
            report.remaining = _wait_gone(hit, 1.0 + attempt)
            if not hit:
                break
        else:
            report.remaining = members_of(held.values())
    finally:
        if own_hold:
            for ns in held.values():
                ns.close()
    if not report.remaining:
        home = LabHome.recorded(record)
        if home is not None:
            home.remove()
        if own_hold and record.run_dir:   # a crashed run's (its own teardown leaves it to the run)
            remove_private_dir(record.run_dir)
        record.remove()
    return report


def cleanup_stale(lab_id: str | None = None) -> list[CleanupReport]:
    """Destroy labs whose owner is gone, or the one named ``lab_id`` (even if its owner runs)."""
    reports = []
    for record in all_records():
        if lab_id is not None and record.lab_id != lab_id:
            continue
        if record.owner_alive() and lab_id is None:
            continue
        reports.append(destroy(record))
    return reports
