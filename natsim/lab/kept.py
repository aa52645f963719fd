"""Labs kept up between commands (``natsim lab up``): one entry per lab in its owner's directory.

An entry (``NAME.json``) says which process keeps the lab (its *keeper*: PID and start time), how to
reach each node and what the lab looks like; the keeper's log is ``NAME.log`` beside it. The
directory is the owner's:

* root (or root inside a user namespace): ``$NATSIM_RUN_DIR/kept`` (default ``/run/natsim/kept``),
  beside the lab records (:mod:`natsim.lab.records`);
* an ordinary user: ``$NATSIM_RUN_DIR/kept`` when set, else ``$XDG_RUNTIME_DIR/natsim/kept``, else
  ``/tmp/natsim-UID/kept`` (made mode 0700, refused unless it is the user's own and closed to others).

So names are unique per owner, and two users' labs never meet. The directory is used through a
descriptor (:class:`natsim.outfiles.OutputDir`): a rootless keeper inside natsim's namespaces, where a
private ``/run`` hides ``$XDG_RUNTIME_DIR``, still writes its entry through the descriptor it inherited.
"""

from __future__ import annotations

import enum
import json
import os
import pwd
import stat
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from natsim.errors import KeptLabError, OutputError
from natsim.lab.records import PREFIX, REGISTRY_DIR, ProcessEntry
from natsim.lab.userns_support import Mode
from natsim.outfiles import OutputDir
from natsim.paths import check_name

_ENTRY, _LOG = ".json", ".log"


class Status(enum.Enum):
    """What ``natsim lab list`` says of a kept lab."""

    STARTING = "starting"
    UP = "up"
    STOPPING = "stopping"
    BROKEN = "broken"     # root: the keeper is gone and its record names processes to remove
    GONE = "gone"         # the keeper is gone and nothing of the lab is left


@dataclass
class KeptLab:
    """One kept lab, as its entry file says."""

    name: str
    topology: str
    time_scale: float
    mode: str                                   # root, namespace or rootless (userns_support.Mode)
    owner: str                                  # who brought it up
    created: float = field(default_factory=time.time)
    state: str = Status.STARTING.value          # starting, up or stopping: what the keeper last wrote
    #: The process whose end ends the lab: root, the detached natsim holding it; rootless, the holder
    #: of natsim's namespaces (the kernel removes the lab with it).
    keeper: ProcessEntry | None = None
    lab_id: str = ""
    #: Node → its anchor (rootless: PID inside the lab's PID namespace), which commands join.
    anchors: dict[str, ProcessEntry] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)   # node → first IPv4 (node names in commands)
    home: str = ""                              # HOME in the nodes (natsim.lab.home)
    tmpdir: str = ""                            # TMPDIR in the nodes (natsim.lab.home)
    sshd: list[str] = field(default_factory=list)
    map: dict[str, Any] = field(default_factory=dict)         # Lab.describe()

    def to_json(self) -> str:
        """The entry file's text."""
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> KeptLab:
        """Read an entry file's text."""
        data = json.loads(text)
        data["keeper"] = ProcessEntry(**data["keeper"]) if data.get("keeper") else None
        data["anchors"] = {n: ProcessEntry(**p) for n, p in data.get("anchors", {}).items()}
        return cls(**data)

    @property
    def roles(self) -> dict[str, str]:
        """Node → its role (host, router or a middlebox kind), from the map."""
        return {node["name"]: node["role"] for node in self.map.get("nodes", [])}

    @property
    def rootless(self) -> bool:
        """Built in natsim's own namespaces: the kernel removes it with its keeper."""
        return self.mode == Mode.ROOTLESS.value

    def keeper_alive(self) -> bool:
        """True while the keeper (same PID and start time) runs."""
        return self.keeper is not None and self.keeper.alive()

    def status(self) -> Status:
        """Starting, up or stopping while the keeper runs; then broken (root: its record is left for
        ``natsim lab down`` or ``natsim cleanup``) or gone."""
        if self.keeper_alive():
            return Status(self.state)
        if not self.rootless and self.lab_id and record_path(self.lab_id).exists():
            return Status.BROKEN
        return Status.GONE

    def age(self, now: float | None = None) -> float:
        """Seconds since it was brought up."""
        return max(0.0, (time.time() if now is None else now) - self.created)


def record_path(lab_id: str) -> Path:
    """Where a root-mode lab's record lives (:class:`natsim.lab.records.LabRecord`)."""
    return REGISTRY_DIR / f"{PREFIX}-{lab_id}.json"


def owner_name() -> str:
    """Who brings a lab up: the user's name (under sudo, ``root (sudo USER)``)."""
    try:
        name = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        name = str(os.geteuid())
    sudo = os.environ.get("SUDO_USER")
    return f"{name} (sudo {sudo})" if sudo and os.geteuid() == 0 else name


def kept_dir() -> Path:
    """The directory of this user's kept labs (module docstring)."""
    base = os.environ.get("NATSIM_RUN_DIR")
    if base:
        return Path(base) / "kept"
    if os.geteuid() == 0:
        return Path("/run/natsim/kept")
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "natsim" / "kept"
    return Path(tempfile.gettempdir()) / f"natsim-{os.geteuid()}" / "kept"


def _private_base(base: Path) -> None:
    """Make ``base`` (mode 0700) unless it exists; refuse one that is not this user's or is open to
    others (a shared ``/tmp``: somebody else may have made it first)."""
    try:
        os.mkdir(base, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(base)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
        raise OutputError(f"{base} is not a private directory of this user's (it should be a directory "
                          "of yours with mode 0700); remove it or set NATSIM_RUN_DIR")


class Registry:
    """This user's kept labs: a directory held by a descriptor (use as a context manager)."""

    def __init__(self, directory: OutputDir | None, path: Path) -> None:
        self.directory = directory    # None: there is no directory yet (no lab was ever kept)
        self.path = path              # the directory's path (for messages)

    @classmethod
    def open(cls, *, create: bool = True) -> Registry:
        """Open this user's directory of kept labs; ``create``: make it when there is none (only
        ``natsim lab up`` does: a command that only reads it, ``natsim cleanup`` as an ordinary user
        included, leaves nothing in ``$TMPDIR``)."""
        path = kept_dir()
        if not create and not path.is_dir():
            return cls(None, path)
        if not os.environ.get("NATSIM_RUN_DIR") and os.geteuid() != 0 and not os.environ.get(
                "XDG_RUNTIME_DIR"):
            _private_base(path.parent)
        return cls(OutputDir.open(path), path)

    @property
    def _dir(self) -> OutputDir:
        """The directory, made by :meth:`open` (``create``) for the commands that write it."""
        if self.directory is None:
            raise KeptLabError(f"{self.path} does not exist (no lab was kept)")
        return self.directory

    def reserve(self, lab: KeptLab) -> None:
        """Write ``lab``'s first entry; :class:`KeptLabError` when its name is taken."""
        try:
            self._dir.write_new(check_name(lab.name, "lab name") + _ENTRY, lab.to_json(), mode=0o600)
        except FileExistsError:
            taken = self.load(lab.name)
            state = taken.status().value if taken is not None else "being created"
            raise KeptLabError(f"a lab named {lab.name!r} exists already ({state}); choose another --name, "
                               f"or remove it with `natsim lab down {lab.name}`") from None

    def save(self, lab: KeptLab) -> None:
        """Write ``lab``'s entry (atomically)."""
        self._dir.write_text(lab.name + _ENTRY, lab.to_json(), mode=0o600)

    def load(self, name: str) -> KeptLab | None:
        """The entry of lab ``name``, or None when there is none (or it cannot be read)."""
        if self.directory is None:
            return None
        try:
            fd = os.open(name + _ENTRY, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self.directory.fd)
        except (OSError, ValueError):
            return None
        try:
            with os.fdopen(fd) as handle:
                return KeptLab.from_json(handle.read())
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def get(self, name: str) -> KeptLab:
        """The entry of lab ``name``; :class:`KeptLabError` naming the labs there are when none."""
        found = self.load(name)
        if found is None:
            names = ", ".join(lab.name for lab in self.entries()) or "none"
            raise KeptLabError(f"no lab named {name!r} (labs: {names}; `natsim lab list` shows them)")
        return found

    def entries(self) -> list[KeptLab]:
        """Every readable entry, oldest first."""
        if self.directory is None:
            return []
        names = sorted(entry[: -len(_ENTRY)] for entry in os.listdir(self.directory.fd)
                       if entry.endswith(_ENTRY) and not entry.startswith("."))
        found = [lab for lab in (self.load(name) for name in names) if lab is not None]
        return sorted(found, key=lambda lab: lab.created)

    def log(self, name: str) -> Any:
        """A new log file for lab ``name``'s keeper (binary, open for writing)."""
        return self._dir.open_stream(name + _LOG, mode=0o600)

    def log_path(self, name: str) -> Path:
        """Where lab ``name``'s keeper logs."""
        return self.path / (name + _LOG)

    def remove(self, name: str, *, log: bool = True) -> None:
        """Delete lab ``name``'s entry (and its log)."""
        if self.directory is None:
            return
        for suffix in (_ENTRY, _LOG) if log else (_ENTRY,):
            try:
                os.unlink(name + suffix, dir_fd=self.directory.fd)
            except FileNotFoundError:
                pass

    def close(self) -> None:
        """Let go of the directory."""
        if self.directory is not None:
            self.directory.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def forget_gone(registry: Registry) -> list[str]:
    """Remove the entries of labs that are gone (keeper ended, nothing left); their names."""
    gone = [lab.name for lab in registry.entries() if lab.status() is Status.GONE]
    for name in gone:
        registry.remove(name)
    return gone
