"""Records of running labs, so a crashed lab's leftovers can be found by its lab id.

One JSON file per lab under ``/run/natsim/labs`` (tmpfs: gone after a reboot, as are namespaces).
A record lists every process natsim started, node shells included (PID + kernel start time, so a
reused PID is never mistaken for ours), and the inode of each node's namespace. The inode is only
a cross-check: a namespace is reached through a recorded process that still runs
(:mod:`natsim.lab.netns`), never by its number, which the kernel reuses.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from natsim.outfiles import write_file

PREFIX = "natsim"
REGISTRY_DIR = Path(os.environ.get("NATSIM_RUN_DIR", "/run/natsim")) / "labs"


def new_lab_id() -> str:
    """A short random lab id (6 hex digits)."""
    return secrets.token_hex(3)


def process_start_time(pid: int) -> int | None:
    """Kernel start time (clock ticks since boot) of ``pid``, or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2:].split()[19])


def running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (our own zombies are reaped here)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat[stat.rindex(")") + 2] != "Z":
        return True
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    return False


@dataclass
class ProcessEntry:
    """A process natsim started (or a node's shell)."""

    pid: int
    start: int
    node: str
    what: str

    def alive(self) -> bool:
        """True when the same process (PID and start time) still runs."""
        return process_start_time(self.pid) == self.start and running(self.pid)


@dataclass
class LabRecord:
    """What one lab created; persisted after every change."""

    lab_id: str
    owner_pid: int
    topology: str
    owner_start: int | None = None
    namespaces: dict[str, int] = field(default_factory=dict)
    shells: list[ProcessEntry] = field(default_factory=list)
    processes: list[ProcessEntry] = field(default_factory=list)
    home: str = ""    # the lab's home directory for root (natsim.lab.home)
    #: The work directory of the run that built the lab (``natsim run``'s, outside the lab's home: it
    #: outlives the lab until its files are copied), removed by ``natsim cleanup`` after a crash.
    run_dir: str = ""

    @property
    def path(self) -> Path:
        """Where the record lives."""
        return REGISTRY_DIR / f"{PREFIX}-{self.lab_id}.json"

    def save(self) -> None:
        """Write the record atomically."""
        write_file(self.path, json.dumps(asdict(self), indent=1))   # never through a link

    def remove(self) -> None:
        """Delete the record file."""
        self.path.unlink(missing_ok=True)

    def owner_alive(self) -> bool:
        """True while the process that built the lab still runs (same PID and start time)."""
        start = process_start_time(self.owner_pid)
        return start is not None and (self.owner_start is None or start == self.owner_start)

    @classmethod
    def load(cls, path: Path) -> LabRecord:
        """Read a record file."""
        data = json.loads(path.read_text())
        data["shells"] = [ProcessEntry(**p) for p in data.get("shells", [])]
        data["processes"] = [ProcessEntry(**p) for p in data.get("processes", [])]
        return cls(**data)


def all_records() -> list[LabRecord]:
    """Every lab record on this machine (skipping unreadable files)."""
    records = []
    for path in sorted(REGISTRY_DIR.glob(f"{PREFIX}-*.json")):
        try:
            records.append(LabRecord.load(path))
        except (OSError, ValueError, TypeError):
            continue
    return records
