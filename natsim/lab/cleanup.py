"""Removing what a lab created, by recorded PID and namespace inode only.

Used by the lab's own teardown and by ``natsim cleanup`` after a crash (SIGKILL). Nothing is
matched by name pattern: a process is ours if its PID and start time are in a lab record, or if it
runs inside a network namespace a lab record names (namespaces natsim created itself).
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field

from natsim.lab.registry import LabRecord, ProcessEntry, all_records, netns_inode, running


@dataclass
class CleanupReport:
    """What a cleanup removed."""

    lab_id: str
    killed: list[int] = field(default_factory=list)
    remaining: list[int] = field(default_factory=list)


def own_netns_inodes() -> set[int]:
    """The namespaces of PID 1 and of this process: never lab namespaces."""
    return {i for i in (netns_inode(1), netns_inode(os.getpid())) if i is not None}


def pids_in_namespaces(inodes: set[int]) -> list[int]:
    """PIDs of every process running in one of the namespaces ``inodes``."""
    inodes = inodes - own_netns_inodes()
    if not inodes:
        return []
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and netns_inode(int(entry.name)) in inodes and running(int(entry.name)):
            found.append(int(entry.name))
    return found


def _signal(entry: ProcessEntry, sig: signal.Signals) -> bool:
    if not entry.alive():
        return False
    try:
        if os.getpgid(entry.pid) == entry.pid:
            os.killpg(entry.pid, sig)
        else:
            os.kill(entry.pid, sig)
    except ProcessLookupError:
        return False
    return True


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    alive = [p for p in pids if running(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.005)
        alive = [p for p in alive if running(p)]
    return alive


def stop_process(entry: ProcessEntry, grace: float = 1.0) -> None:
    """SIGTERM ``entry`` (its process group if it leads one), SIGKILL after ``grace`` seconds."""
    if _signal(entry, signal.SIGTERM) and _wait_gone([entry.pid], grace):
        _signal(entry, signal.SIGKILL)
        _wait_gone([entry.pid], 1.0)


def destroy(record: LabRecord, grace: float = 0.5) -> CleanupReport:
    """Stop every process of ``record`` and empty its namespaces, then delete the record."""
    report = CleanupReport(record.lab_id)
    for entry in record.processes:
        if _signal(entry, signal.SIGTERM):
            report.killed.append(entry.pid)
    _wait_gone([p.pid for p in record.processes], grace)
    inodes = set(record.namespaces.values())
    shells = {s.pid for s in record.shells}
    for attempt in range(3):
        stragglers = [p for p in pids_in_namespaces(inodes) if p not in shells]
        for entry in [*record.processes, *record.shells]:
            _signal(entry, signal.SIGKILL)
        for pid in stragglers:
            try:
                os.kill(pid, signal.SIGKILL)
                report.killed.append(pid)
            except ProcessLookupError:
                pass
        left = _wait_gone(pids_in_namespaces(inodes), 1.0 + attempt)
        if not left:
            break
    _wait_gone([e.pid for e in [*record.shells, *record.processes]], 1.0)  # reaps our zombies
    report.remaining = pids_in_namespaces(inodes)
    if not report.remaining:
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
