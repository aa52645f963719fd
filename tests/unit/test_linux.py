"""The seccomp rule natsim's own namespace relies on: ``setgroups(2)`` succeeds and changes nothing (in a
forked child, so this test process keeps no filter)."""

from __future__ import annotations

import ctypes
import errno
import os

from natsim.lab import linux

PR_SET_NO_NEW_PRIVS = 38


def in_child(body: object) -> int:
    """Run ``body()`` in a forked child with no_new_privs (needed to load a filter unprivileged)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
            code = body()  # type: ignore[operator]
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_setgroups_succeeds_without_effect() -> None:
    def body() -> int:
        before = os.getgroups()
        linux.setgroups_does_nothing()
        os.setgroups([4242])            # root would change its groups; unprivileged, EPERM
        return 0 if os.getgroups() == before else 3
    assert in_child(body) == 0


def test_an_errno_filter_answers_with_its_errno() -> None:
    def body() -> int:
        linux.errno_filter(("unshare", "no_such_syscall"), errno.EPERM)
        try:
            linux.unshare(0x04000000)   # CLONE_NEWUTS: refused by the filter before any check
        except OSError as err:
            return 0 if err.errno == errno.EPERM else 4
        return 5
    assert in_child(body) == 0


def test_tcpdump_drops_to_its_user_unless_the_namespace_lacks_it(monkeypatch: object) -> None:
    """Root mode: tcpdump's own default (its user). natsim's one-id user namespace: ``-Z root``, since
    switching to an id the namespace does not map fails (``Couldn't change to 'tcpdump'``)."""
    import pytest

    from natsim.lab import capture

    patch = pytest.MonkeyPatch()
    try:
        patch.setattr(capture, "maps_uid", lambda uid: True)
        assert capture.drop_to("root") == []
        patch.setattr(capture, "maps_uid", lambda uid: False)
        assert capture.drop_to("root") == ["-Z", "root"]
        assert capture.drop_to("no-such-user-natsim") == []
    finally:
        patch.undo()
