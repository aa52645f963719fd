"""The few Linux system calls natsim's own namespace needs and Python 3.11 does not offer.

``unshare(2)`` (``os.unshare`` only arrived in Python 3.12), ``mount(2)``, ``prctl(PR_SET_PDEATHSIG)``
and one seccomp rule, each a thin :mod:`ctypes` call that raises :class:`OSError` with the errno.
The seccomp rule goes through libseccomp (always installed on Debian: systemd and util-linux use it)
rather than a hand-assembled BPF program, because libseccomp knows each architecture's syscall
numbers and ABIs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REC = 0x4000
MS_PRIVATE = 0x40000

_PR_SET_PDEATHSIG = 1
_SCMP_ACT_ALLOW = 0x7FFF0000
_SCMP_ACT_ERRNO = 0x00050000        # | errno; errno 0 makes the call "succeed" without doing anything
_SCMP_FLTATR_CTL_NNP = 3            # libseccomp's "set no_new_privs on load" attribute


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def unshare(flags: int) -> None:
    """Move this process into new namespaces (``CLONE_NEW*`` flags); a new PID namespace is for its
    children. ``CLONE_NEWUSER`` needs a single-threaded process."""
    _check(_libc().unshare(ctypes.c_int(flags)), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0,
          data: str | None = None) -> None:
    """``mount(2)``."""
    def arg(text: str | None) -> bytes | None:
        return None if text is None else text.encode()

    _check(_libc().mount(arg(source), arg(target), arg(fstype), ctypes.c_ulong(flags), arg(data)),
           f"mount {target}")


def die_with_parent(sig: signal.Signals = signal.SIGKILL) -> None:
    """Have the kernel send ``sig`` to this process when the thread that forked it exits."""
    _check(_libc().prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(sig), 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")


def write_id_maps(uid: int, gid: int) -> None:
    """Map ``uid``/``gid`` of the parent user namespace to 0 in this process's new one.

    The only mapping an unprivileged process may write itself: one id, its own, after denying
    ``setgroups(2)`` in the namespace (the kernel's rule, so that dropping a group cannot be undone).
    """
    for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1\n"), ("gid_map", f"0 {gid} 1\n")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)


def setgroups_does_nothing() -> None:
    """Install a seccomp filter on this process and its future children: ``setgroups(2)`` returns
    success without changing anything.

    In a user namespace with a single mapped id the kernel denies ``setgroups`` for good, and tools
    that drop privileges call it even to "drop" to root: tcpdump (``-Z root``), sshd (privilege
    separation, login). Groups there are meaningless anyway (one id is all there is), so the call may
    as well succeed.
    """
    errno_filter(("setgroups", "setgroups32"), 0)


def errno_filter(syscalls: tuple[str, ...], errno: int) -> None:
    """Install a seccomp filter on this process and its future children: each of ``syscalls`` (names
    this architecture lacks are skipped) returns ``-errno`` without running; 0 means "success".

    Needs ``CAP_SYS_ADMIN`` in the current user namespace or ``no_new_privs`` already set; it does
    not set ``no_new_privs`` itself, so programs with file capabilities keep working.
    """
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError as err:
        raise OSError(f"libseccomp not found ({err}): install the Debian package libseccomp2") from err
    lib.seccomp_init.restype = ctypes.c_void_p
    ctx = lib.seccomp_init(ctypes.c_uint32(_SCMP_ACT_ALLOW))
    if not ctx:
        raise OSError("seccomp_init failed")
    ctx = ctypes.c_void_p(ctx)
    try:
        _seccomp(lib.seccomp_attr_set(ctx, _SCMP_FLTATR_CTL_NNP, ctypes.c_uint32(0)), "seccomp_attr_set")
        for syscall in syscalls:
            number = lib.seccomp_syscall_resolve_name(syscall.encode())
            if number >= 0:   # e.g. setgroups32 exists on 32-bit ABIs only
                _seccomp(lib.seccomp_rule_add(ctx, ctypes.c_uint32(_SCMP_ACT_ERRNO | errno), number, 0),
                         "seccomp_rule_add")
        _seccomp(lib.seccomp_load(ctx), "seccomp_load")
    finally:
        lib.seccomp_release(ctx)


def _seccomp(result: int, what: str) -> None:
    if result < 0:   # libseccomp returns -errno
        raise OSError(-result, f"{what}: {os.strerror(-result)}")
