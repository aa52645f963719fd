"""Shared test configuration.

The natsim pytest plugin provides the natsim_netns marker handling. Under xdist the tests run longest
first (``tests/schedule.py``). This file adds one session-wide check:
the whole test run leaves the root network namespace exactly as it found it - links, named namespaces,
addresses, routes, rules, nftables ruleset and the sysctls in ``tests/rootstate.py``. Any difference
fails the run, whichever test caused it.

As root the snapshots are taken at the start and end of the session. Without root the session runs
inside natsim's own user namespace (the plugin moves it there), so the host's namespace is
snapshotted on the host, before the session enters (``pytest_configure``, which runs before the
plugin's) and after it has ended (``pytest_natsim_host_exit``), as far as an ordinary user can read
it (not the nftables ruleset); natsim's own namespace is snapshotted inside as root's is.
"""

from __future__ import annotations

import os
import signal

import pytest

from tests.rootstate import differences, snapshot
from tests.schedule import LongestFirst

_BEFORE = pytest.StashKey[dict[str, str]]()
_HOST_BEFORE = pytest.StashKey[dict[str, str]]()


def _interruptible() -> None:
    """A test runner started in the background by a shell without job control (``make test &`` in a
    script) has SIGINT ignored, and every process the tests start inherits that: Python then raises no
    KeyboardInterrupt, and the tests that interrupt natsim as Ctrl-C does see it carry on (natsim keeps
    an inherited ignore, as Unix programs do). Caught here, SIGINT reaches every process the tests
    start as a terminal delivers it (exec resets a caught signal to its default action)."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_configure(config: pytest.Config) -> None:
    """Without root, snapshot the host before the plugin moves the session into a namespace; SIGINT
    as a terminal delivers it (:func:`_interruptible`)."""
    _interruptible()
    config.pluginmanager.register(LongestFirst(config), "natsim-longest-first")
    if not hasattr(config, "workerinput") and os.geteuid() != 0:
        config.stash[_HOST_BEFORE] = snapshot()


def pytest_natsim_host_exit(config: pytest.Config, exitstatus: int) -> int:
    """On the host, after the session ran in natsim's own namespace: fail when the host changed."""
    changed = differences(config.stash[_HOST_BEFORE], snapshot())
    if changed:
        print("the test run changed the host's network namespace:\n  " + "\n  ".join(changed))
        return int(pytest.ExitCode.TESTS_FAILED)
    return 0


def pytest_sessionstart(session: pytest.Session) -> None:
    """Snapshot the root namespace (in the controlling process only, under xdist)."""
    if hasattr(session.config, "workerinput") or os.geteuid() != 0:
        return
    session.config.stash[_BEFORE] = snapshot()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when the root namespace changed."""
    before = session.config.stash.get(_BEFORE, None)
    if before is None:
        return
    changed = differences(before, snapshot())
    if changed:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        text = "the test run changed the root network namespace:\n  " + "\n  ".join(changed)
        if reporter is not None:
            reporter.write_sep("=", "root namespace changed", red=True)
            reporter.write_line(text)
        else:
            print(text)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
