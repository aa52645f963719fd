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
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from natsim.lab.home import LabHome, remove_private_dir
from natsim.lab.netns import HeldNamespace, members_of, own_identities, signal_entry
from natsim.lab.records import LabRecord, ProcessEntry, all_records, running


@dataclass
class CleanupReport:
    """What a cleanup removed, and what it could not."""

    lab_id: str
    killed: list[int] = field(default_factory=list)
    remaining: list[int] = field(default_factory=list)
    untrusted: list[str] = field(default_factory=list)   # nodes whose namespace could not be held


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait until none of ``pids`` runs (our own zombies are reaped); the ones still running."""
    deadline = time.monotonic() + timeout
    alive = [p for p in pids if running(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.005)
        alive = [p for p in alive if running(p)]
    return alive


def _wait_entries(entries: list[ProcessEntry], timeout: float) -> None:
    """Wait until none of the recorded processes (PID *and* start time) runs."""
    deadline = time.monotonic() + timeout
    alive = [e for e in entries if e.alive()]
    while alive and time.monotonic() < deadline:
        time.sleep(0.005)
        alive = [e for e in alive if e.alive()]


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


def _members(held: Mapping[str, HeldNamespace]) -> list[int]:
    return members_of(held.values())


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
        for entry in record.processes:
            if signal_entry(entry, signal.SIGTERM, group=True):
                report.killed.append(entry.pid)
        _wait_entries(record.processes, grace)
        for attempt in range(3):
            for entry in [*record.processes, *record.shells]:
                signal_entry(entry, signal.SIGKILL)
            for ns in held.values():
                report.killed.extend(p for p in ns.kill_members() if p not in report.killed)
            if not _wait_gone(_members(held), 1.0 + attempt):
                break
        _wait_entries([*record.shells, *record.processes], 1.0)  # also reaps our zombies
        report.remaining = _members(held)
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
