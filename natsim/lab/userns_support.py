"""Which mode natsim builds labs in, and why unprivileged user namespaces are unavailable when they are.

* **root**: euid 0 in the host's user namespace; labs are built beside the host's namespaces and
  ``natsim cleanup`` removes a crashed lab's leftovers from its records.
* **namespace**: euid 0 inside a user namespace already (natsim's own, e.g. a pytest session the
  plugin moved there, or a container's); labs are built where natsim is.
* **rootless**: an ordinary user; natsim enters a user namespace of its own first
  (:mod:`natsim.lab.userns`).

``NATSIM_MODE=root`` refuses to enter a namespace (labs then need root); ``NATSIM_MODE=rootless``
enters one even as root. Where the kernel refuses, :func:`explain` turns what can be read
(:class:`Readings`) and the step that failed into one reason and the one setting that enables it.
"""

from __future__ import annotations

import enum
import errno as errnos
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from natsim.errors import PrivilegeError
from natsim.privileges import in_user_namespace

MODE_ENV = "NATSIM_MODE"


#: The source name of the private tmpfs on /run in natsim's namespaces (``/proc/self/mountinfo``).
PRIVATE_RUN = "natsim-run"

class Mode(enum.Enum):
    """Where labs are built (module docstring)."""

    ROOT = "root"
    NAMESPACE = "namespace"
    ROOTLESS = "rootless"


def lab_mode(environ: Mapping[str, str] = os.environ, euid: int | None = None) -> Mode:
    """The mode labs will be built in (module docstring); :class:`PrivilegeError` for a bad
    ``NATSIM_MODE`` or ``NATSIM_MODE=root`` without root."""
    forced = environ.get(MODE_ENV, "").strip().lower()
    if forced not in ("", "auto", "root", "rootless"):
        raise PrivilegeError(f"{MODE_ENV}={environ[MODE_ENV]!r}: expected auto, root or rootless")
    euid = os.geteuid() if euid is None else euid
    if forced == "rootless":
        return Mode.ROOTLESS
    if euid == 0:
        return Mode.NAMESPACE if in_user_namespace() else Mode.ROOT
    if forced == "root":
        raise PrivilegeError(f"{MODE_ENV}=root: labs need root here (run natsim with sudo)")
    return Mode.ROOTLESS


@dataclass(frozen=True)
class Readings:
    """What the kernel tells an unprivileged process about user namespaces (None: not present)."""

    max_user_namespaces: int | None = None          # user.max_user_namespaces
    unprivileged_userns_clone: int | None = None    # kernel.unprivileged_userns_clone (Debian <= 10)
    apparmor_restrict: int | None = None            # kernel.apparmor_restrict_unprivileged_userns
    seccomp: int | None = None                      # 2: a seccomp filter (a container's profile)

    @classmethod
    def read(cls) -> Readings:
        """Read them from /proc."""
        status = _read("/proc/self/status") or ""
        seccomp = next((line.split()[1] for line in status.splitlines() if line.startswith("Seccomp:")), None)
        return cls(max_user_namespaces=_int(_read("/proc/sys/user/max_user_namespaces")),
                   unprivileged_userns_clone=_int(_read("/proc/sys/kernel/unprivileged_userns_clone")),
                   apparmor_restrict=_int(_read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")),
                   seccomp=_int(seccomp))


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def _int(text: str | None) -> int | None:
    try:
        return int(text.strip()) if text is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class EntryFailure:
    """The step of :func:`natsim.lab.userns.enter` that failed, with its errno (0: unknown)."""

    step: str
    errno: int = 0
    message: str = ""

    @classmethod
    def parse(cls, text: str, status: int) -> EntryFailure:
        """From the holder's report (``step<TAB>errno<TAB>message``; empty when it died first)."""
        parts = text.split("\t", 2)
        if len(parts) != 3:
            return cls("start", 0, f"the namespace holder ended with exit code {status}")
        return cls(parts[0], int(parts[1]) if parts[1].isdigit() else 0, parts[2])


@dataclass(frozen=True)
class Explanation:
    """Why natsim cannot enter a user namespace of its own, and the setting that allows it."""

    reason: str
    fix: str

    def __str__(self) -> str:
        return f"{self.reason}; to allow it: {self.fix} (or run natsim as root)"


RAISE_LIMIT = "sudo sysctl -w user.max_user_namespaces=15000"
_SYSCTLS = (  # (reading, value that forbids, reason, fix)
    ("max_user_namespaces", 0, "user namespaces are disabled (user.max_user_namespaces = 0)",
     RAISE_LIMIT),
    ("unprivileged_userns_clone", 0,
     "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0)",
     "sudo sysctl -w kernel.unprivileged_userns_clone=1"),
    ("apparmor_restrict", 1, "AppArmor restricts unprivileged user namespaces "
     "(kernel.apparmor_restrict_unprivileged_userns = 1, Ubuntu 23.10 and later)",
     "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"),
)


def explain(readings: Readings, failure: EntryFailure | None = None) -> Explanation | None:
    """Why unprivileged user namespaces are unavailable, or None when nothing says they are."""
    for attribute, forbidding, reason, fix in _SYSCTLS:
        if asdict(readings)[attribute] == forbidding:
            return Explanation(reason, fix)
    if failure is None:
        return None
    if failure.step == "unshare" and failure.errno == errnos.ENOSPC:
        return Explanation(f"the limit of user namespaces is reached (user.max_user_namespaces = "
                           f"{readings.max_user_namespaces})", RAISE_LIMIT)
    if failure.step == "unshare" and failure.errno == errnos.EPERM and readings.seccomp == 2:
        return Explanation("a seccomp profile forbids creating user namespaces (a container's default "
                           "profile does)", "start the container with --security-opt seccomp=unconfined")
    if failure.step == "seccomp":
        return Explanation(f"setgroups cannot be made harmless ({failure.message})",
                           "install the Debian package libseccomp2")
    if failure.step == "proc":
        return Explanation(f"a new /proc cannot be mounted ({failure.message}; a container hides parts of "
                           "its /proc)", "start the container with --security-opt systempaths=unconfined")
    return Explanation(f"creating natsim's namespaces failed at {failure.step}: {failure.message}",
                       "see docs/install.md, \"Without root\"")


class NamespaceRefused(PrivilegeError):
    """The kernel refused natsim's own namespaces (``failure`` says at which step)."""

    def __init__(self, failure: EntryFailure, readings: Readings | None = None) -> None:
        self.failure = failure
        found = explain(readings or Readings.read(), failure)
        super().__init__(f"cannot build a lab without root: {found}")


def private_run(mountinfo: str | None = None) -> Path | None:
    """``/run`` when it is natsim's private tmpfs (this process is inside natsim's namespaces: what is
    written there goes with them, whatever ends them), else None. ``mountinfo``: the text of
    ``/proc/self/mountinfo`` (read when not given)."""
    text = Path("/proc/self/mountinfo").read_text() if mountinfo is None else mountinfo
    source = None
    for line in text.splitlines():   # "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - FSTYPE SOURCE OPTS"
        mine, _, fs = line.partition(" - ")
        fields, fs_fields = mine.split(), fs.split()
        if len(fields) > 4 and fields[4] == "/run" and len(fs_fields) > 1:
            source = fs_fields[1]     # the last mount on /run is the one seen
    return Path("/run") if source == PRIVATE_RUN else None
