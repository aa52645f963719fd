"""natsim's own namespaces: labs without root, removed by the kernel together with natsim.

An ordinary user cannot create network namespaces beside the host's, but may create a user namespace
and be root inside it; network and mount namespaces created there belong to it, and nothing done in
them can change the host's. :func:`enter` forks the calling process into such a set::

    outer = enter()
    if outer is not None:         # the original process, still on the host
        return outer.wait()       # forwards SIGINT/SIGTERM/SIGHUP; the inner process's exit status
    ...                           # the inner process: uid 0, a private /run, build labs here

The processes::

    outer   the caller, unchanged (host namespaces); waits
      holder  a session of its own; new user (the caller's uid and gid mapped to 0), network, mount
              and PID namespaces; /run is a private tmpfs; dies with outer (PR_SET_PDEATHSIG)
        init  PID 1 of the new PID namespace: mounts its /proc, raises loopback, reaps orphans,
              forwards signals; dies with holder
          inner  returns from enter() and does the work

Nothing can be left behind: when init dies (its parent died, it was killed, or inner ended) the
kernel kills every process of the PID namespace, and the lab's network namespaces, the mount
namespace (with the lab records under /run) and the user namespace are freed with the last of them.

A lab that outlives the command (``natsim lab up``) uses the same shape with ``enter(detached=True)``:
the holder then does not die with outer, and holder, init and inner let go of outer's terminal and
pipes (their standard streams are ``/dev/null``). The holder is the lab's *keeper*: the lab dies with
it by construction. The same user joins its namespaces later (:mod:`natsim.lab.join`).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from types import FrameType

from natsim.errors import PrivilegeError
from natsim.lab import linux
from natsim.lab.userns_support import PRIVATE_RUN, EntryFailure, NamespaceRefused

#: Signals the outer process passes on to the inner one (through holder and init).
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_READY = b"ready\n"
_FAILED = 125   # exit code of a holder or init that could not set the namespaces up
#: Environment variables with no meaning inside: sudo's ids (paths.hand_over would chown to an id the
#: namespace cannot map) and the forced mode (children inside use the namespace they are in).
_DROPPED_ENV = ("SUDO_UID", "SUDO_GID", "SUDO_USER", "SUDO_COMMAND", "NATSIM_MODE")


def exit_code(status: int) -> int:
    """A wait status as a shell exit code (128 + N for a process killed by signal N)."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _forwarding(target: int) -> Callable[[int, FrameType | None], None]:
    def forward(signum: int, frame: FrameType | None) -> None:
        try:
            os.kill(target, signum)
        except ProcessLookupError:
            pass
    return forward


class Outer:
    """The original process's handle on the namespaces it forked (see :func:`enter`)."""

    def __init__(self, holder: int) -> None:
        self.holder = holder

    def wait(self) -> int:
        """Wait until the inner process has ended, passing SIGINT, SIGTERM and SIGHUP on to it;
        return its exit code (128 + N when a signal N ended it or its namespace)."""
        previous = {}
        if threading.current_thread() is threading.main_thread():
            previous = {sig: signal.signal(sig, _forwarding(self.holder)) for sig in FORWARDED}
        try:
            _, status = os.waitpid(self.holder, 0)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        return exit_code(status)


def enter(*, detached: bool = False) -> Outer | None:
    """Fork into natsim's own user, network, mount and PID namespaces (module docstring).

    ``detached``: the namespaces outlive the calling process (a kept lab's keeper), and none of their
    processes keeps the caller's standard streams open.
    Returns an :class:`Outer` in the calling process and None in the inner process. Raises
    :class:`NamespaceRefused` (with the reason and the setting that would allow it) in the calling
    process when the kernel refuses. The caller must be single-threaded: a forked copy of a
    multi-threaded process would lose its other threads.
    """
    if threading.active_count() > 1:
        raise PrivilegeError("natsim can enter its own namespaces only from a single-threaded process "
                             f"({threading.active_count()} threads are running)")
    uid, gid = os.geteuid(), os.getegid()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    read_end, write_end = os.pipe()
    parent = os.getpid()
    handlers = {sig: signal.getsignal(sig) for sig in FORWARDED}   # the inner process gets them back
    with open("/proc/self/comm") as comm:
        name = comm.read().strip()
    # Blocked until each process has its handlers: a signal is then delayed, never lost.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
    try:
        holder = os.fork()
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        raise
    if holder == 0:
        os.close(read_end)
        _run_holder(parent, uid, gid, write_end, detached)   # returns in the inner process only
        _name(name)
        for sig, handler in handlers.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        return None
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as status:
        message = status.read()
    if message != _READY:
        _, waited = os.waitpid(holder, 0)
        raise NamespaceRefused(EntryFailure.parse(message.decode(errors="replace"), exit_code(waited)))
    return Outer(holder)


def check() -> None:
    """Enter natsim's namespaces and leave them at once (``natsim doctor``'s trial);
    :class:`PrivilegeError` when that is impossible here."""
    outer = enter()
    if outer is None:
        os._exit(0)
    code = outer.wait()
    if code != 0:
        raise PrivilegeError(f"natsim's namespaces were created but their first process ended with {code}")


def _report(status_fd: int, step: str, err: BaseException) -> None:
    errno = err.errno if isinstance(err, OSError) and err.errno else 0
    try:
        os.write(status_fd, f"{step}\t{errno}\t{err}".encode())
    except OSError:
        pass


def _run_holder(parent: int, uid: int, gid: int, status_fd: int, detached: bool) -> None:
    """The holder: create the namespaces, fork init, wait for it. Returns in the inner process only."""
    step = "start"
    try:
        _name("natsim-holder")
        if detached:
            _let_go_of_streams()
        else:
            linux.die_with_parent()
        if os.getppid() != parent:     # the caller died before PR_SET_PDEATHSIG took effect
            os._exit(_FAILED)
        os.setsid()                    # signals reach the inner process once, through outer
        step = "unshare"
        linux.unshare(linux.CLONE_NEWUSER | linux.CLONE_NEWNET | linux.CLONE_NEWNS | linux.CLONE_NEWPID)
        step = "uid_map"
        linux.write_id_maps(uid, gid)
        step = "mount"
        linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
        linux.mount(PRIVATE_RUN, "/run", "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, "mode=755")
        lifeline_read, lifeline_write = os.pipe()
        step = "fork"
        init = os.fork()
    except BaseException as err:
        _report(status_fd, step, err)
        os._exit(_FAILED)
    if init == 0:
        os.close(lifeline_write)
        _run_init(lifeline_read, status_fd)     # returns in the inner process only
        return
    os.close(lifeline_read)
    os.close(status_fd)
    try:
        _forward_to(init)
        _, status = os.waitpid(init, 0)
        os._exit(exit_code(status))
    except BaseException:
        os._exit(_FAILED)


def _let_go_of_streams() -> None:
    """Standard input, output and error from ``/dev/null``: a process that outlives the command must
    not keep its terminal or its caller's pipes open (a caller reading them would wait for it)."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _name(name: str) -> None:
    """Name this process in ``ps -o comm`` and ``top`` (its command line stays the caller's)."""
    with open("/proc/self/comm", "w") as comm:
        comm.write(name)


def _forward_to(pid: int) -> None:
    """Pass :data:`FORWARDED` signals on to ``pid`` from now on (they were blocked until here)."""
    for sig in FORWARDED:
        signal.signal(sig, _forwarding(pid))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)


def _run_init(lifeline: int, status_fd: int) -> None:
    """PID 1: mount /proc, raise loopback, fork inner, reap. Returns in the inner process only."""
    step = "init"
    try:
        _name("natsim-init")
        linux.die_with_parent()
        if select.select([lifeline], [], [], 0)[0]:   # EOF: holder is gone already
            os._exit(_FAILED)
        step = "proc"
        linux.mount("proc", "/proc", "proc", linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC)
        step = "loopback"
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True, capture_output=True)
        step = "seccomp"
        linux.setgroups_does_nothing()
        step = "fork"
        inner = os.fork()
    except BaseException as err:
        _report(status_fd, step, err)
        os._exit(_FAILED)
    if inner == 0:
        os.close(lifeline)
        for name in _DROPPED_ENV:
            os.environ.pop(name, None)
        os.write(status_fd, _READY)
        os.close(status_fd)
        return
    os.close(status_fd)
    os._exit(_reap(inner))


def _reap(inner: int) -> int:
    """Forward signals to ``inner``, reap every orphan; ``inner``'s exit code once it has ended."""
    try:
        _forward_to(inner)
        while True:
            pid, status = os.wait()
            if pid == inner:
                return exit_code(status)
    except BaseException:
        return _FAILED

