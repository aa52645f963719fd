"""Records of running labs, so a crashed lab's leftovers can be found by its lab id.

One file per lab under ``/run/natsim/labs`` (tmpfs: gone after a reboot, as are namespaces), of JSON
lines: the record as first saved, then what each save added. A save appends one line and never
replaces the file, so a SIGKILL at any moment leaves every earlier save readable (a line cut short is
ignored), and no save waits for the file system (replacing a file by renaming over it made ext4 flush
it, a few milliseconds each, several times per lab).
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
from typing import Any

from natsim.errors import LabError
from natsim.outfiles import make_dir

PREFIX = "natsim"
ANCHOR = "anchor"   # what a node's anchor is recorded as (ProcessEntry.what)
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
        """Append what changed since the last save (the first save: the whole record) as one line."""
        data = asdict(self)
        saved = self.__dict__.get("_saved")
        line = data if saved is None else _delta(saved, data)
        if line:
            try:
                _append(self.path, line, first=saved is None)
            except FileNotFoundError:   # removed meanwhile: write it whole again
                _append(self.path, data, first=True)
        self.__dict__["_saved"] = data

    def remove(self) -> None:
        """Delete the record file."""
        self.path.unlink(missing_ok=True)

    def owner_alive(self) -> bool:
        """True while the process that built the lab still runs (same PID and start time)."""
        start = process_start_time(self.owner_pid)
        return start is not None and (self.owner_start is None or start == self.owner_start)

    @classmethod
    def load(cls, path: Path) -> LabRecord:
        """Read a record file (ValueError when it holds no whole first line)."""
        text = path.read_bytes()
        try:
            data = json.loads(text)   # one line (or a record of natsim before the lines)
        except ValueError:
            data = None
            for line in text.split(b"\n")[:-1]:   # after the last newline: a save cut short
                try:
                    item = json.loads(line)
                except ValueError:
                    break
                data = item if data is None else _merge(data, item)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: not a lab record")
        saved = json.loads(json.dumps(data))
        data["shells"] = [ProcessEntry(**p) for p in data.get("shells", [])]
        data["processes"] = [ProcessEntry(**p) for p in data.get("processes", [])]
        record = cls(**data)
        record.__dict__["_saved"] = saved
        return record


def _delta(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What a line must say to turn record ``old`` into ``new``: lists' new items, dicts' new keys,
    changed values; ``{"replace": new}`` when something was removed or changed in place."""
    delta: dict[str, Any] = {}
    for key, value in new.items():
        was = old.get(key)
        if value == was:
            continue
        if isinstance(value, list) and isinstance(was, list) and value[:len(was)] == was:
            delta[key] = value[len(was):]
        elif isinstance(value, dict) and isinstance(was, dict) and all(
                k in value and value[k] == v for k, v in was.items()):
            delta[key] = {k: v for k, v in value.items() if k not in was}
        elif isinstance(value, list | dict) or isinstance(was, list | dict):
            return {"replace": new}
        else:
            delta[key] = value
    return delta


def _merge(data: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
    """Record ``data`` with line ``delta`` applied (:func:`_delta`'s inverse)."""
    if "replace" in delta:
        return dict(delta["replace"])
    for key, value in delta.items():
        if isinstance(value, list):
            data[key] = [*data.get(key, []), *value]
        elif isinstance(value, dict):
            data[key] = {**data.get(key, {}), **value}
        else:
            data[key] = value
    return data


def _append(path: Path, line: dict[str, Any], *, first: bool) -> None:
    """Append ``line`` to record file ``path`` with one write, never through a link. The first line
    makes the file, which must not exist; a later one remakes it, whole, if it was removed."""
    text = (json.dumps(line, separators=(",", ":")) + "\n").encode()
    flags = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
    if first:
        make_dir(path.parent)
        flags |= os.O_CREAT | os.O_EXCL
    try:
        fd = os.open(path, flags, 0o644)
    except FileExistsError:
        raise LabError(f"lab record {path} exists already") from None
    try:
        if os.write(fd, text) != len(text):
            raise LabError(f"lab record {path}: short write")
    finally:
        os.close(fd)


def all_records() -> list[LabRecord]:
    """Every lab record on this machine (skipping unreadable files)."""
    records = []
    for path in sorted(REGISTRY_DIR.glob(f"{PREFIX}-*.json")):
        try:
            records.append(LabRecord.load(path))
        except (OSError, ValueError, TypeError):
            continue
    return records
