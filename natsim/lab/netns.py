"""Network namespaces natsim holds, and the processes inside them.

A lab's namespaces are identified by what natsim holds, never by a bare number: a
:class:`HeldNamespace` keeps a file descriptor on the namespace (``/proc/PID/ns/net``). While the
descriptor is open the kernel cannot free the namespace, so its inode number cannot be handed to
another namespace, and "is process X in this namespace?" compares X's namespace with the held one.

A namespace is only taken hold of through a recorded process — its PID *and* kernel start time
(:class:`~natsim.lab.records.ProcessEntry`), checked before and after opening — so a reused PID
never leads natsim into somebody else's namespace. Signals go through a pidfd opened after the
membership check, so a PID reused between the scan and the signal is never hit.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from collections.abc import Iterable, Iterator

from natsim.lab.records import ProcessEntry, running


def own_identities() -> set[tuple[int, int]]:
    """The namespaces of PID 1 and of this process: never a lab's."""
    return {i for i in (_ns_identity("/proc/1/ns/net"), _ns_identity("/proc/self/ns/net")) if i}


def _ns_identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class HeldNamespace:
    """An open reference to one network namespace (use :meth:`of_process` to get one)."""

    def __init__(self, fd: int, node: str = "") -> None:
        self.fd: int | None = fd
        self.node = node
        st = os.fstat(fd)
        self.identity = (st.st_dev, st.st_ino)

    @property
    def inode(self) -> int:
        """The namespace's inode number (for records and messages only, never for membership)."""
        return self.identity[1]

    @classmethod
    def of_process(cls, entry: ProcessEntry) -> HeldNamespace | None:
        """Hold the namespace of ``entry``'s process, or None unless that very process (PID and
        start time, checked before and after opening) is running."""
        if not entry.alive():
            return None
        try:
            fd = os.open(f"/proc/{entry.pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        if not entry.alive():   # the PID may have been reused between the check and the open
            os.close(fd)
            return None
        return cls(fd, entry.node)

    def contains(self, pid: int) -> bool:
        """True when process ``pid`` is inside this namespace."""
        return self.fd is not None and _ns_identity(f"/proc/{pid}/ns/net") == self.identity

    def members(self) -> list[int]:
        """PIDs of every live process inside this namespace."""
        return members_of([self])

    def kill_members(self, sig: signal.Signals = signal.SIGKILL) -> list[int]:
        """Send ``sig`` to every process inside; return the PIDs signalled."""
        hit = []
        for pid in self.members():
            if signal_if_member(pid, self, sig):
                hit.append(pid)
        return hit

    def close(self) -> None:
        """Let the namespace go (the kernel frees it once no process is left inside)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> HeldNamespace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def members_of(held: Iterable[HeldNamespace]) -> list[int]:
    """PIDs of every live process inside any of the ``held`` namespaces (one pass over /proc; a
    process's namespace link is read first, and only one naming a held inode is looked at further)."""
    return [pid for pid, _ in _member_pairs(held)]


def _member_pairs(held: Iterable[HeldNamespace]) -> list[tuple[int, HeldNamespace]]:
    by_identity = {ns.identity: ns for ns in held if ns.fd is not None}
    links = {f"net:[{inode}]" for _, inode in by_identity}
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            link = os.readlink(f"/proc/{entry.name}/ns/net")
        except OSError:
            continue
        if link not in links:
            continue
        ns = by_identity.get(_ns_identity(f"/proc/{entry.name}/ns/net") or (0, 0))
        if ns is not None and running(int(entry.name)):
            found.append((int(entry.name), ns))
    return found


def kill_all_members(held: Iterable[HeldNamespace], sig: signal.Signals = signal.SIGKILL) -> list[int]:
    """Send ``sig`` to every process inside any of the ``held`` namespaces (one pass over /proc);
    return the PIDs signalled."""
    return [pid for pid, ns in _member_pairs(held) if signal_if_member(pid, ns, sig)]


def wait_exited(pids: Iterable[int], timeout: float) -> None:
    """Return once every process of ``pids`` has exited (the kernel wakes us: a pidfd each), or after
    ``timeout`` seconds. Nothing is reaped here."""
    fds = []
    for pid in set(pids):
        try:
            fds.append(os.pidfd_open(pid))
        except OSError:
            continue   # gone already
    try:
        poll = select.poll()
        for fd in fds:
            poll.register(fd, select.POLLIN)
        pending, deadline = len(fds), time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for fd, _ in poll.poll(max(0.0, deadline - time.monotonic()) * 1000):
                poll.unregister(fd)
                pending -= 1
    finally:
        for fd in fds:
            os.close(fd)


@contextlib.contextmanager
def _pidfd(pid: int) -> Iterator[int | None]:
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        yield None
        return
    try:
        yield fd
    finally:
        os.close(fd)


def signal_if_member(pid: int, held: HeldNamespace, sig: signal.Signals) -> bool:
    """Signal ``pid`` only if, after pinning it with a pidfd, it is still inside ``held``."""
    with _pidfd(pid) as fd:
        if fd is None or not held.contains(pid):
            return False
        try:
            signal.pidfd_send_signal(fd, sig)
        except ProcessLookupError:
            return False
        return True


def signal_entry(entry: ProcessEntry, sig: signal.Signals, *, group: bool = False) -> bool:
    """Signal the recorded process (its process group with ``group`` when it leads one), only while
    it is the same process: PID and start time are checked after pinning it with a pidfd."""
    with _pidfd(entry.pid) as fd:
        if fd is None or not entry.alive():
            return False
        try:
            if group and os.getpgid(entry.pid) == entry.pid:
                # the kernel hands out no PID that is still some group's id, so the group is ours
                os.killpg(entry.pid, sig)
            else:
                signal.pidfd_send_signal(fd, sig)
        except ProcessLookupError:
            return False
        return True
